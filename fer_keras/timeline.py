"""A video's timeline: the table `fer-keras predict VIDEO --out DIR` writes beside the annotated
copy (<name>.csv, one row per analysed frame and face), its plot (<name>.png, each emotion's
probability over time) and the progress line of a long video.

    frame,time_s,face,x1,y1,x2,y2,angry,disgust,fear,happy,sad,surprise,neutral,emotion
    0,0.0,0,64.2,58.9,255.1,262.3,0.021337,0.001254,0.048113,0.803612,0.040978,0.013287,0.071419,happy

`face` numbers the faces of a frame from 0 in the detector's order (most confident first); the box is
(x1, y1, x2, y2) in pixels; the probability columns are the model's classes, in its order (seven for
FER2013 models, eight for FERPlus ones); `emotion` is the most probable. `TimelineWriter` streams the
rows to an open file as frames are analysed, so memory stays flat over any length of video;
`plot_timeline` draws the figure from that file afterwards, reading it in chunks (a long video's
curves are averaged into at most `MAX_POINTS` time bins); `read_timeline` is the table as a pandas
DataFrame. `ProgressLine` shows a video's frames on stderr while it is analysed.
"""

import csv
import sys
import time

import numpy as np

FIXED_COLUMNS = ("frame", "time_s", "face", "x1", "y1", "x2", "y2")
MAX_POINTS = 2000  # a plot of more analysed frames shows time bins (their mean) instead
CHUNK_ROWS = 100_000  # rows read at a time when the plot is drawn


def timeline_columns(class_names):
    """The CSV's header: the fixed columns, one probability column per class, then "emotion"."""
    return [*FIXED_COLUMNS, *class_names, "emotion"]


class TimelineWriter:
    """Writes the timeline's rows to `handle` (a text file open for writing, newline="") as they come:
    its header at once, then `add(frame, time_s, faces)` per analysed frame (faces: the dicts of
    `fer_keras.predict.FacePredictor.faces`). An OSError while writing stops the writes and is kept
    in `error` for the caller to report; `rows` counts the rows written."""

    def __init__(self, handle, class_names):
        self.handle, self.class_names = handle, list(class_names)
        self.writer = csv.writer(handle, lineterminator="\n")
        self.rows, self.error = 0, None
        self._write([timeline_columns(self.class_names)])

    def _write(self, rows):
        if self.error is not None:
            return
        try:
            self.writer.writerows(rows)
        except OSError as err:
            self.error = err

    def add(self, frame, time_s, faces):
        rows = []
        for k, face in enumerate(faces):
            probabilities = face["probabilities"]
            rows.append([frame, time_s, k, *face["box"], *(f"{probabilities[name]:.6f}" for name in self.class_names),
                         face["emotion"]])
        self._write(rows)
        self.rows += len(rows) if self.error is None else 0

    def close(self):
        """Flush and close the file; False (with `error` set) when a write failed."""
        try:
            self.handle.close()
        except OSError as err:
            self.error = self.error or err
        return self.error is None


def read_timeline(path, class_names=None):
    """The timeline CSV at `path` as a pandas DataFrame (integer frame and face, float time, box and
    probabilities, string emotion; also for a CSV that holds only its header)."""
    import pandas as pd

    columns = pd.read_csv(path, nrows=0).columns
    names = list(class_names) if class_names is not None else [c for c in columns if c not in FIXED_COLUMNS + ("emotion",)]
    dtypes = {"frame": "int64", "face": "int64", "emotion": str} | {c: "float64" for c in (*FIXED_COLUMNS[3:], *names)}
    dtypes["time_s"] = "float64"
    return pd.read_csv(path, dtype={c: t for c, t in dtypes.items() if c in columns})


def _first_faces(path, class_names):
    """The chunks of the timeline's rows of face 0 (the most confident face of each frame): (times, (N, C) probabilities)."""
    import pandas as pd

    for chunk in pd.read_csv(path, usecols=["time_s", "face", *class_names], chunksize=CHUNK_ROWS):
        chunk = chunk[chunk["face"] == 0]
        yield chunk["time_s"].to_numpy(float), chunk[list(class_names)].to_numpy(float)


def _curves(path, class_names, max_points):
    """(times, (N, C) probabilities, bin width or None): face 0's rows as they are, or, when there
    are more than `max_points`, their means over `max_points` equal time bins (NaN where a bin has
    none, which breaks the line). Two passes over the file in chunks: memory does not grow with it."""
    count, end = 0, 0.0
    for times, _ in _first_faces(path, class_names):
        count += len(times)
        end = max(end, float(times.max())) if len(times) else end
    if count <= max_points:
        parts = [(np.zeros(0), np.zeros((0, len(class_names))))] + list(_first_faces(path, class_names))
        return np.concatenate([t for t, _ in parts]), np.concatenate([p for _, p in parts]), None
    width = end / max_points if end > 0 else 1.0
    sums, counts = np.zeros((max_points, len(class_names))), np.zeros(max_points)
    for times, probabilities in _first_faces(path, class_names):
        bins = np.minimum((times / width).astype(int), max_points - 1)
        np.add.at(sums, bins, probabilities)
        counts += np.bincount(bins, minlength=max_points)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    return (np.arange(max_points) + 0.5) * width, means, width


def plot_timeline(csv_path, png_path, class_names, title, max_points=MAX_POINTS):
    """Draw each class's probability over time for face 0 of every analysed frame (the most confident
    face) from the timeline CSV at `csv_path`, as a PNG at `png_path` (matplotlib's Agg canvas; no
    pyplot state is touched). A timeline without rows gives a figure that says no face was found."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    class_names = list(class_names)
    times, probabilities, width = _curves(csv_path, class_names, max_points)
    figure = Figure(figsize=(10, 4.2))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if len(times):
        style = {"marker": "o", "markersize": 3} if len(times) <= 60 else {"linewidth": 1.2}
        for k, name in enumerate(class_names):
            axes.plot(times, probabilities[:, k], label=name, **style)
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    else:
        axes.text(0.5, 0.5, "no face found", ha="center", va="center", transform=axes.transAxes, fontsize=14)
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("probability")
    axes.grid(alpha=0.3)
    what = "the most confident face of each analysed frame"
    axes.set_title(f"{title}\n{what}" + (f" (means over {width:.3g} s)" if width else ""), fontsize=10)
    figure.tight_layout()
    figure.savefig(png_path, format="png", dpi=100)


class ProgressLine:
    """A progress callback for a video (`progress` of `fer_keras.predict.predict_paths`): called as
    (file, frames read, frames in all or None, finished), it writes "clip.mp4: frame 1200 of 54000
    (2%), 31.5 frames/s" to `stream` (stderr) once `delay` seconds have passed on a video, then every
    `interval` seconds: in place on a terminal (cleared when the video ends), as lines otherwise. A
    short video shows nothing."""

    def __init__(self, stream=None, delay=2.0, interval=5.0):
        self.stream, self.delay, self.interval = stream, delay, interval
        self.file, self.start, self.next, self.shown = None, 0.0, 0.0, False

    def __call__(self, file, done, total, finished=False):
        stream = self.stream or sys.stderr
        now = time.monotonic()
        if file != self.file:
            self.file, self.start, self.next, self.shown = file, now, now + self.delay, False
        terminal = hasattr(stream, "isatty") and stream.isatty()
        if finished:
            if terminal and self.shown:
                stream.write("\r\x1b[K")
                stream.flush()
            self.file = None
            return
        if now < self.next:
            return
        self.next, self.shown = now + self.interval, True
        share = f" of {total} ({100 * done / total:.0f}%)" if total else ""
        line = f"{file}: frame {done}{share}, {done / max(now - self.start, 1e-9):.1f} frames/s"
        stream.write(f"\r{line}\x1b[K" if terminal else line + "\n")
        stream.flush()


__all__ = ["FIXED_COLUMNS", "ProgressLine", "TimelineWriter", "plot_timeline", "read_timeline", "timeline_columns"]
