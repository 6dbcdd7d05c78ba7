"""`fer-keras predict`: find every face in photos and videos and classify its expression.

    from fer_keras.predict import FacePredictor, load_classifier, predict_paths, predict_video
    predictor = FacePredictor(load_classifier())            # the default bundled model, through LiteRT
    entries = predict_paths(predictor, ["photo.jpg", "holiday/", "clip.mp4"], out="annotated")
    table = predict_video(predictor, "clip.mp4", every=5)   # pandas DataFrame: one row per frame and face
    predictor = FacePredictor(load_classifier(run="runs/amdcnn_fer2013"))   # a run's model, through Keras

The classifier (`load_classifier`): a bundled model (`pretrained`, or none named) runs its float16
TFLite export with the LiteRT interpreter (`fer_keras.bundled.LiteClassifier`), and neither
TensorFlow nor Keras is imported, so a one-photo run starts in about a second; a run, a weights
file (or a bundled model where ai-edge-litert is not installed, said in a note) runs the Keras
model (`KerasClassifier` of a `fer_keras.loading.Trained`, which FacePredictor also takes as it is).
Both give the same top emotion with probabilities within the float16 export's tolerance
(tests/predict/test_lite.py).

Each photo (and each analysed video frame) goes through a face detector (every face, not only the
best one): BlazeFace by default (`fer_keras.data.faces.detect_faces_blazeface`, a few milliseconds
a photo, faces of at least ~1/5 of the photo's side), or MTCNN (`detect_faces`, slower, smaller
faces) with detector="mtcnn"; each face is aligned with its five landmarks to the model's
input (`fer_keras.classify.face_inputs`, MrCAR: its three region crops) and all faces of a batch of
images (DEFAULT_BATCH_SIZE, benchmarks/predict_cold_start.py) are classified in one call. An entry
per image or frame:

    {"file": "photo.jpg", "frame": null, "faces": [{"box": [x1, y1, x2, y2], "detection_confidence": 0.99,
     "landmarks": {"left_eye": [x, y], ...}, "emotion": "happy", "probability": 0.93,
     "probabilities": {"angry": 0.01, ...}}]}

An image without a face gives "faces": []; an unreadable file gives "error". With `out`, annotated
copies (boxes, label and probability, drawn with OpenCV) are written there, and for a video an
annotated video (frames between analysed ones carry the last analysed frame's boxes) with its
timeline beside it: name.csv, one row per analysed frame and face, streamed as the video is read,
and name.png, each emotion's probability over time (`fer_keras.timeline`); `predict_video` returns
that table as a pandas DataFrame. `check_out` refuses, before anything is analysed, an `out` that
is an input folder or would receive a copy in place of an input file, and copies that would replace
existing files unless `overwrite`; each copy is written under a hidden temporary name and then
renamed into place (a video's three files together, under one name).

Size: over 600 lines; photos and videos share the output plan, the safe writes and the entries (the
timeline's table, plot and progress line are in fer_keras.timeline).
"""

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from fer_keras.classify import classify, concat_inputs, face_inputs
from fer_keras.data.faces import LANDMARK_NAMES
from fer_keras.data.faces.blazeface import MODELS as BLAZEFACE_MODELS
from fer_keras.data.files import decode_image
from fer_keras.data.folder import IMAGE_SUFFIXES as FOLDER_IMAGE_SUFFIXES
from fer_keras.errors import ArgumentError, DatasetError
from fer_keras.evaluation import resolve_tta

IMAGE_SUFFIXES = frozenset(FOLDER_IMAGE_SUFFIXES | {".webp"})
DETECTORS = (*BLAZEFACE_MODELS, "mtcnn")  # the first is the default
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
# Images per detection batch and faces per classifier call: a folder is about as fast at any size
# through LiteRT and fastest from 64 through Keras (benchmarks/results/predict_cold_start.json, "folder").
DEFAULT_BATCH_SIZE = 64
# One colour (BGR) per class index, for boxes and labels.
PALETTE = [(60, 60, 230), (60, 160, 60), (170, 60, 170), (40, 200, 250), (220, 130, 40), (230, 230, 60), (180, 180, 180),
           (120, 80, 200), (80, 200, 160), (200, 100, 120)]


def is_video(path):
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def collect_inputs(paths):
    """The files to analyse: each file as given, each folder's image and video files (sorted, not
    recursive; one that cannot be read, such as a link to nothing, is analysed and reported as an
    error). The folder's other entries are counted in a note on stderr (hidden ones aside). A
    missing path or a folder without such files raises ArgumentError."""
    files = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            entries = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            found = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES and not p.is_dir()]
            if not found:
                raise ArgumentError("paths", path, f"no image or video files in this folder "
                                    f"({', '.join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))})")
            taken = set(found)
            other = [p.name for p in entries if p not in taken]
            if other:
                print(f"note: {path}: {len(other)} entries not analysed (not image or video files): "
                      f"{', '.join(other[:5])}{', ...' if len(other) > 5 else ''}", file=sys.stderr)
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ArgumentError("paths", path, "no such file or folder")
    return files


def read_image(path):
    """(H, W, 3) uint8 RGB image of file `path`; DatasetError naming it when it is missing, empty,
    truncated (OpenCV would fill a cut JPEG with grey) or not an image file."""
    return decode_image(path, 3)


class KerasClassifier:
    """predict's classifier for a Keras model (a `fer_keras.loading.Trained`: a run, a weights file,
    a bundled model's Keras weights). `fer_keras.bundled.LiteClassifier` has the same interface:
    class_names, source, default_tta (the recipe's), `face_inputs(image, landmarks)` (the uint8
    inputs of a photo's faces) and `predict(inputs, batch_size, tta)` ((K, classes) probabilities)."""

    backend = "keras"

    def __init__(self, trained):
        from fer_keras.recipes.schema import Recipe

        self.trained = trained
        self.class_names = tuple(trained.class_names)
        self.source = trained.source
        self.default_tta = Recipe.of(trained.recipe).pipeline.tta

    def face_inputs(self, image, landmarks):
        return face_inputs(image, landmarks, self.trained.recipe, self.trained.model)

    def predict(self, inputs, batch_size=DEFAULT_BATCH_SIZE, tta=None):
        return classify(self.trained.model, self.trained.recipe, inputs, batch_size, tta)


def classifier_of(model):
    """predict's classifier for `model`: a classifier (`KerasClassifier`, `LiteClassifier`) as it
    is, a `fer_keras.loading.Trained` as a KerasClassifier."""
    return model if hasattr(model, "face_inputs") and hasattr(model, "predict") else KerasClassifier(model)


def load_classifier(pretrained=None, run=None, model=None, weights=None, dataset=None, recipe=None, overrides=(),
                    lite=True):
    """The classifier predict runs for these arguments (those of `fer_keras.loading.load_trained`).
    A bundled model (`pretrained`, or no model named: DEFAULT_PRETRAINED) runs its TFLite export
    with LiteRT (`fer_keras.bundled.LiteClassifier`; no TensorFlow or Keras imported) unless
    `lite=False`, ai-edge-litert is not installed or the model has no export (a one-line note on
    stderr says which); the rest, a `KerasClassifier` of the loaded Keras model. Errors name the argument."""
    if run is None and model is None and weights is None:
        from fer_keras.bundled import DEFAULT_PRETRAINED, lite_classifier

        pretrained = DEFAULT_PRETRAINED if pretrained is None else pretrained
        found = lite_classifier(pretrained) if lite and recipe is None and not overrides else None
        if found is not None:
            return found
    from fer_keras.loading import load_trained
    from fer_keras.quiet import import_keras_quietly

    import_keras_quietly()
    return KerasClassifier(load_trained(run=run, model=model, weights=weights, dataset=dataset, recipe=recipe,
                                        overrides=overrides, pretrained=pretrained))


class FacePredictor:
    """Detect, align and classify the faces of RGB images with a classifier (`load_classifier`: a
    `KerasClassifier` or a `fer_keras.bundled.LiteClassifier`) or a loaded model (a
    `fer_keras.loading.Trained`, run by Keras). `tta`: "none" (the default: one view per face, fast), "tencrop"
    (ten views, ~10x the model time; more accurate, benchmarks/results/inference.json) or None (the recipe's). `detector`: one
    of DETECTORS ("blazeface", the default, short-range BlazeFace; "blazeface_back"; "mtcnn");
    `detector_options`: keywords of `detect_faces_blazeface` or, for MTCNN, `detect_faces`."""

    def __init__(self, trained, batch_size=DEFAULT_BATCH_SIZE, tta="none", detector="blazeface", detector_options=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ArgumentError("batch_size", batch_size, "expected a positive integer")
        if detector not in DETECTORS:
            raise ArgumentError("detector", detector, f"expected one of {', '.join(DETECTORS)}")
        self.trained = trained
        self.classifier = classifier_of(trained)
        self.batch_size = batch_size
        self.tta = resolve_tta(tta, self.classifier.default_tta)
        self.detector = detector
        self.detector_options = dict(detector_options or {})

    @property
    def class_names(self):
        return self.classifier.class_names

    def predict_images(self, images):
        """For each (H, W, 3) uint8 RGB image: (FaceLandmarks of its faces, (K, classes) probabilities)."""
        from fer_keras.data.faces import detect_faces, detect_faces_blazeface

        if not images:
            return []
        if self.detector == "mtcnn":
            marks = detect_faces(list(images), batch_size=self.batch_size, **self.detector_options)
        else:
            marks = detect_faces_blazeface(list(images), model=self.detector, **self.detector_options)
        parts = [self.classifier.face_inputs(image, m) if len(m) else None for image, m in zip(images, marks)]
        probabilities = self.classifier.predict(concat_inputs(parts), self.batch_size, self.tta)
        bounds = np.cumsum([0] + [len(m) for m in marks])
        return [(m, probabilities[bounds[i] : bounds[i + 1]]) for i, m in enumerate(marks)]

    def faces(self, marks, probabilities):
        """The JSON-ready face dicts of one image."""
        names = self.class_names
        faces = []
        for box, points, confidence, probs in zip(marks.boxes, marks.landmarks, marks.confidences, probabilities):
            top = int(np.argmax(probs))
            faces.append({
                "box": [round(float(v), 1) for v in box],
                "detection_confidence": round(float(confidence), 4),
                "landmarks": {name: [round(float(x), 1), round(float(y), 1)] for name, (x, y) in zip(LANDMARK_NAMES, points)},
                "emotion": names[top],
                "probability": float(probs[top]),
                "probabilities": {name: float(p) for name, p in zip(names, probs)},
            })
        return faces


def annotate(image_bgr, faces, class_names):
    """A copy of `image_bgr` with each face's box and "emotion probability" label drawn."""
    import cv2

    out = image_bgr.copy()
    height, width = out.shape[:2]
    thickness = max(1, round(min(height, width) / 300))
    scale = max(0.4, min(height, width) / 800)
    for face in faces:
        x1, y1, x2, y2 = (int(round(v)) for v in face["box"])
        x1, y1 = max(0, min(x1, width - 1)), max(0, min(y1, height - 1))
        x2, y2 = max(0, min(x2, width - 1)), max(0, min(y2, height - 1))
        index = list(class_names).index(face["emotion"]) if face["emotion"] in class_names else 0
        color = PALETTE[index % len(PALETTE)]
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        label = f"{face['emotion']} {face['probability']:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = y1 - th - base - 2 if y1 - th - base - 2 >= 0 else min(y2 + 1, height - th - base - 2)
        top = max(0, top)
        cv2.rectangle(out, (x1, top), (min(width - 1, x1 + tw + 4), top + th + base + 2), color, -1)
        cv2.putText(out, label, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return out


class _OutputNames:
    """Unique output paths in `folder` for input files (same name twice: name_2, name_3, ...)."""

    def __init__(self, folder):
        self.folder, self.used = Path(folder), set()

    def __call__(self, path, suffix=None, also=()):
        """The copy's path; with `also` (suffixes of files written beside it: a video's .csv and
        .png), a name whose every such file is free too."""
        path = Path(path)
        suffix = suffix or path.suffix
        k = 1
        while True:
            stem = path.stem if k == 1 else f"{path.stem}_{k}"
            candidates = [self.folder / f"{stem}{s}" for s in (suffix, *also)]
            if not self.used.intersection(candidates):
                self.used.update(candidates)
                return candidates[0]
            k += 1


def _video_outputs(target):
    """The files a video's `target` (its annotated copy, .mp4) stands for: the copy, its timeline
    CSV and its plot, named alike."""
    return target, target.with_suffix(".csv"), target.with_suffix(".png")


def _identity(path):
    """(device, inode) of an existing path, else None: the same file under any name."""
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _output_plan(files, paths, out, overwrite):
    """The annotated copy's path for each of `files` (a list in their order), after the checks of `check_out`."""
    import cv2

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ArgumentError("out", out, "is a file; expected a folder for the annotated copies")
    where, identity = out.resolve(), _identity(out)
    for text in paths:
        folder = Path(text)
        if folder.is_dir() and (folder.resolve() == where or (identity is not None and _identity(folder) == identity)):
            raise ArgumentError("out", out, f"is the input folder {folder}; the annotated copies would replace its "
                                "files; choose another folder")
    inputs = {path.resolve(): path for path in files}
    identities = {_identity(path): path for path in files}
    names, plan, existing = _OutputNames(out), [], []
    for path in files:
        writable = _opencv_can_name(path.suffix) and cv2.haveImageWriter(f"x{path.suffix}")
        video = is_video(path)
        target = names(path, ".mp4", also=(".csv", ".png")) if video else names(path, path.suffix if writable else ".png")
        outputs = _video_outputs(target) if video else (target,)
        for written, what in zip(outputs, ("annotated copy", "timeline", "timeline plot")):
            same = inputs.get(written.resolve())
            if same is None and _identity(written) is not None:
                same = identities.get(_identity(written))
            if same is not None:
                raise ArgumentError("out", out, f"the {what} of {path} would be written over the input {same}; "
                                    "choose another folder")
            if written.is_dir():
                raise ArgumentError("out", out, f"{written} is a folder; cannot write the {what} of {path} there")
            if written.exists() or written.is_symlink():
                existing.append(written)
        plan.append(target)
    if existing and not overwrite:
        which = f"{existing[0]} and {len(existing) - 1} more already exist" if len(existing) > 1 else f"{existing[0]} exists"
        raise ArgumentError("out", out, f"{which}; choose another folder, or pass `overwrite=True` to replace them")
    return plan


def check_out(paths, out, overwrite=False):
    """Raise ArgumentError when annotated copies of `paths` may not be written to `out`: `out` is an input
    folder or a file, a copy would land on an input file (never allowed), or a copy's path exists and
    `overwrite` is false (a video's copy is name.mp4, with its timeline name.csv and name.png beside
    it: all three are checked). Returns the copies' paths, in input order (none without `out`)."""
    files = collect_inputs(paths)
    return [] if out is None else _output_plan(files, paths, out, overwrite)


def _opencv_can_name(text):
    """Whether OpenCV may be given `text` as a file name or suffix: it must encode as UTF-8. A name
    holding a byte that is not UTF-8 (Python's surrogate escapes) crashes OpenCV's Python binding
    with a segmentation fault (issue 35), so such a name never reaches OpenCV."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextlib.contextmanager
def _opencv_name(path):
    """A name OpenCV can open `path` by: its own, or, for a name that is not UTF-8, a temporary
    ASCII symbolic link to it (removed afterwards)."""
    if _opencv_can_name(str(path)):
        yield str(path)
        return
    folder = tempfile.mkdtemp(prefix="fer-keras-")
    link = os.path.join(folder, "input" + (path.suffix if _opencv_can_name(path.suffix) else ""))
    try:
        os.symlink(os.path.abspath(path), link)
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _temporary(target):
    """A new hidden ASCII name beside `target`, with its suffix (OpenCV picks the video encoder by
    it, and the target's own name may not be one OpenCV can take)."""
    return target.with_name(f".fer-keras.{os.getpid()}.{secrets.token_hex(4)}.tmp{target.suffix}")


def _place(temporary, target, overwrite):
    """Move the finished `temporary` file to `target` and return where it went. With `overwrite`,
    `target` is replaced; without, the name is claimed at this moment, not only when the output
    plan was made: a name another process took in the meantime is never replaced, the next free
    name_2, name_3, ... is used instead (a hard link claims a name atomically)."""
    return _place_all([(temporary, target)], overwrite)[0]


def _place_all(pairs, overwrite):
    """`_place` for files that belong together ([(temporary, target)]: a video's copy, CSV and plot):
    they keep one name, the first name_k whose every file is free (a name claimed for one of them
    is given up again when another's is taken)."""
    if overwrite:
        for temporary, target in pairs:
            os.replace(temporary, target)
        return [target for _, target in pairs]
    k = 1
    while True:
        names = [target if k == 1 else target.with_name(f"{target.stem}_{k}{target.suffix}") for _, target in pairs]
        claimed = []
        for (temporary, _), name in zip(pairs, names):
            if not _claim(temporary, name):
                break
            claimed.append(name)
        else:
            return names
        for name in claimed:
            name.unlink(missing_ok=True)
        k += 1


def _claim(temporary, name):
    """Give the finished `temporary` the new name `name` (a hard link, or an exclusive copy on a file
    system without them); False when `name` exists."""
    try:
        os.link(temporary, name)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: claim the name by exclusive creation
        try:
            with open(name, "xb") as handle, open(temporary, "rb") as source:
                shutil.copyfileobj(source, handle)
            return True
        except FileExistsError:
            return False


def _write_image(target, image_bgr, overwrite=False):
    """Encode the image by `target`'s suffix, write it to a temporary name beside `target` and
    `_place` it; returns the path written, or None when it cannot be encoded or written (Python
    writes the file, so any name works)."""
    import cv2

    ok, data = cv2.imencode(target.suffix, image_bgr)
    if not ok:
        return None
    temporary = _temporary(target)
    try:
        with open(temporary, "wb") as handle:
            handle.write(data.tobytes())
        return _place(temporary, target, overwrite)
    except OSError:
        return None
    finally:
        temporary.unlink(missing_ok=True)


def _check_every(every):
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ArgumentError("every", every, "expected a positive integer")


def _progress_callback(progress):
    """The callable `progress` stands for: None (none), True (`ProgressLine` on stderr) or its own."""
    if progress is None or progress is False:
        return None
    if progress is True:
        from fer_keras.timeline import ProgressLine

        return ProgressLine()
    if callable(progress):
        return progress
    raise ArgumentError("progress", progress, "expected None, True or a callable (file, frames read, frames in all, finished)")


def predict_paths(predictor, paths, out=None, every=1, emit=None, overwrite=False, progress=None, keep_frames=True):
    """Analyse the files and folders in `paths` (see `collect_inputs`); returns the entries (also
    passed one by one, in input order, to `emit`). `out`: folder for annotated images and videos,
    and each video's timeline beside its copy (name.csv and name.png, `fer_keras.timeline`; checked
    first, see `check_out`; `overwrite`: replace files that exist there). `every`: analyse every n-th
    video frame. `progress`: True shows a long video's progress on stderr (`ProgressLine`), a
    callable is called as (file, frames read, frames in all or None, finished). `keep_frames=False`
    leaves a video's per-frame entries out of the returned list (they still go to `emit`), so memory
    stays flat however long the video."""
    import cv2

    _check_every(every)
    progress = _progress_callback(progress)
    files = collect_inputs(paths)
    targets = [None] * len(files)
    if out is not None:
        targets = _output_plan(files, paths, out, overwrite)
        Path(out).mkdir(parents=True, exist_ok=True)
    entries = []

    def report(entry):
        if keep_frames or entry.get("frame") is None:
            entries.append(entry)
        if emit is not None:
            emit(entry)

    chunk = []

    def flush_images():
        readable = []
        for path, target in chunk:
            try:
                readable.append((path, target, read_image(path)))
            except DatasetError as err:
                problem = str(err).removeprefix(f"{path}: ")
                report({"file": str(path), "frame": None, "error": problem})
        results = predictor.predict_images([image for _, _, image in readable])
        for (path, target, image), (marks, probabilities) in zip(readable, results):
            entry = {"file": str(path), "frame": None, "faces": predictor.faces(marks, probabilities)}
            if target is not None:
                annotated = annotate(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), entry["faces"], predictor.class_names)
                written = _write_image(target, annotated, overwrite)
                if written is not None:
                    entry["annotated"] = str(written)
                else:
                    print(f"{path}: cannot write the annotated copy {target}", file=sys.stderr)
            report(entry)
        chunk.clear()

    for path, target in zip(files, targets):
        if is_video(path):
            flush_images()
            _predict_video(predictor, path, (None, None, None) if target is None else _video_outputs(target), every,
                           report, overwrite, progress)
        else:
            chunk.append((path, target))
            if len(chunk) >= predictor.batch_size:
                flush_images()
    flush_images()
    return entries


def predict_video(predictor, path, out=None, every=1, overwrite=False, progress=None):
    """Analyse the video at `path` and return its timeline as a pandas DataFrame: one row per analysed
    frame and face, with the columns frame, time_s, face, x1, y1, x2, y2, one per class of the model
    and emotion (`fer_keras.timeline`); a video without a face gives an empty one with those columns
    (and a note on stderr). With `out`, a folder checked as `check_out` checks it, the annotated copy,
    name.csv (this same table) and name.png (each emotion's probability over time) are written
    there; without, nothing is. The rows go to a CSV file while the video is read, so memory stays
    flat until the table is read back. The DataFrame's `attrs` hold the video's summary entry (frame
    counts, the files written). `every`, `overwrite` and `progress` as in `predict_paths`. A path
    that is not a video file is an ArgumentError; one that cannot be opened as a video, a DatasetError."""
    from fer_keras.timeline import read_timeline

    _check_every(every)
    progress = _progress_callback(progress)
    path = Path(path)
    if not path.is_file():
        raise ArgumentError("path", path, "no such file")
    if not is_video(path):
        raise ArgumentError("path", path, f"not a video file ({', '.join(sorted(VIDEO_SUFFIXES))})")
    summaries = []
    with tempfile.TemporaryDirectory(prefix="fer-keras-") as folder:
        if out is None:
            targets = (None, Path(folder) / "timeline.csv", None)
        else:
            (target,) = _output_plan([path], [str(path)], out, overwrite)
            Path(out).mkdir(parents=True, exist_ok=True)
            targets = _video_outputs(target)
        _predict_video(predictor, path, targets, every, lambda e: summaries.append(e) if e["frame"] is None else None,
                       overwrite, progress)
        (summary,) = summaries
        if "error" in summary:
            raise DatasetError(f"{path}: {summary['error']}")
        if "timeline" not in summary:
            raise ArgumentError("out", out, f"cannot write the timeline of {path} there")
        table = read_timeline(summary["timeline"], predictor.class_names)
    if out is None:
        del summary["timeline"]
    table.attrs.update(summary)
    return table


def _predict_video(predictor, path, targets, every, report, overwrite=False, progress=None):
    """Analyse a video. `targets`: (annotated copy, timeline CSV, timeline plot), each a path or None;
    each is written under a temporary name beside it first, and they are placed together at the end."""
    temporaries = [None if target is None else _temporary(target) for target in targets]
    try:
        with _opencv_name(path) as name:
            _analyse_video(predictor, name, path, targets, temporaries, every, report, overwrite, progress)
    finally:
        for temporary in temporaries:
            if temporary is not None:
                temporary.unlink(missing_ok=True)


def _open_timeline(path, target, temporary, class_names):
    """A `TimelineWriter` on `temporary`, or None (said on stderr) when it cannot be created."""
    from fer_keras.timeline import TimelineWriter

    if target is None:
        return None
    try:
        return TimelineWriter(open(temporary, "w", newline="", encoding="utf-8"), class_names)
    except OSError as err:
        print(f"{path}: cannot write the timeline {target}: {err.strerror or err}", file=sys.stderr)
        return None


def _analyse_video(predictor, name, path, targets, temporaries, every, report, overwrite, progress):
    import cv2

    capture = cv2.VideoCapture(name)
    if not capture.isOpened():
        report({"file": str(path), "frame": None, "error": "cannot be opened as a video"})
        return
    target, table_target, figure_target = targets
    temporary, table_temporary, figure_temporary = temporaries
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    writer = None
    table = _open_timeline(path, table_target, table_temporary, predictor.class_names)
    pending = []  # (frame index, BGR frame or None, analysed?)
    last = []
    keep_all = target is not None
    stats = {"frames": 0, "analysed": 0, "with_faces": 0}

    def flush():
        nonlocal writer, last, keep_all
        analysed = [(i, frame) for i, frame, flag in pending if flag]
        results = predictor.predict_images([cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for _, frame in analysed])
        faces = {i: predictor.faces(m, p) for (i, _), (m, p) in zip(analysed, results)}
        for i, frame, flag in pending:
            if flag:
                last = faces[i]
                stats["analysed"] += 1
                stats["with_faces"] += bool(last)
                if table is not None:
                    table.add(i, round(i / fps, 3), last)
                report({"file": str(path), "frame": i, "time": round(i / fps, 3), "faces": last})
            if keep_all and frame is not None:
                if writer is None:
                    height, width = frame.shape[:2]
                    writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
                    if not writer.isOpened():
                        print(f"{path}: cannot write the annotated video {target}", file=sys.stderr)
                        keep_all = False
                        writer = None
                        continue
                writer.write(annotate(frame, last, predictor.class_names))
        pending.clear()

    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            flag = index % every == 0
            pending.append((index, frame if (flag or keep_all) else None, flag))
            index += 1
            if sum(p[2] for p in pending) >= predictor.batch_size or len(pending) >= max(64, predictor.batch_size):
                flush()
                if progress is not None:
                    progress(str(path), index, total or None, False)
        flush()
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        written = table is not None and table.close()
        if progress is not None:
            progress(str(path), index, total or None, True)
    stats["frames"] = index
    summary = {"file": str(path), "frame": None, "video": stats}
    pairs = [] if writer is None else [("annotated", temporary, target)]
    if table is not None and not written:
        print(f"{path}: cannot write the timeline {table_target}: {table.error.strerror or table.error}", file=sys.stderr)
    elif table is not None:
        pairs.append(("timeline", table_temporary, table_target))
        if figure_target is not None:
            from fer_keras.timeline import plot_timeline

            title = path.name.encode("utf-8", "backslashreplace").decode("utf-8")  # a name that is not UTF-8 too
            try:
                plot_timeline(table_temporary, figure_temporary, predictor.class_names, title)
                pairs.append(("plot", figure_temporary, figure_target))
            except OSError as err:
                print(f"{path}: cannot write the timeline plot {figure_target}: {err.strerror or err}", file=sys.stderr)
    placed = _place_all([(t, g) for _, t, g in pairs], overwrite)
    summary.update({key: str(where) for (key, _, _), where in zip(pairs, placed)})
    if table is not None and written and table.rows == 0:
        summary["note"] = f"no face found in its {stats['analysed']} analysed frames: the timeline holds only its header"
        print(f"note: {path}: {summary['note']}", file=sys.stderr)
    report(summary)


def format_entry(entry):
    """The human-readable lines of one entry."""
    where = entry["file"] + (f" frame {entry['frame']}" if entry.get("frame") is not None else "")
    if "error" in entry:
        return [f"{where}: {entry['error']}"]
    if "video" in entry:
        stats = entry["video"]
        line = (f"{where}: {stats['frames']} frames, {stats['analysed']} analysed, "
                f"faces in {stats['with_faces']}")
        line += f"; annotated video {entry['annotated']}" if entry.get("annotated") else ""
        line += f"; timeline {entry['timeline']}" if entry.get("timeline") else ""
        return [line + (f", plot {entry['plot']}" if entry.get("plot") else "")]
    faces = entry["faces"]
    if not faces:
        if entry.get("frame") is not None:
            return []  # video frames without faces are counted in the video's summary line
        return [f"{where}: no face found" + (f" (annotated copy {entry['annotated']})" if entry.get("annotated") else "")]
    lines = []
    for k, face in enumerate(faces, 1):
        box = ",".join(str(int(round(v))) for v in face["box"])
        probabilities = " ".join(f"{name} {p:.3f}" for name, p in face["probabilities"].items())
        lines.append(f"{where} face {k}/{len(faces)}: box {box}  {face['emotion']} {face['probability']:.3f}  [{probabilities}]")
    if entry.get("annotated"):
        lines.append(f"{where}: annotated copy {entry['annotated']}")
    return lines


__all__ = ["DEFAULT_BATCH_SIZE", "FacePredictor", "KerasClassifier", "annotate", "check_out", "classifier_of",
           "collect_inputs", "format_entry", "load_classifier", "predict_paths", "predict_video", "read_image"]
