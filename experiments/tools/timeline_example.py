"""The README's video-timeline picture (issue 36, item 5): a clip made from faces of the FER2013 sample
that ships in the package, one face at a time, each cross-fading into the next, run through
`fer-keras predict CLIP --out DIR` with the default bundled model (LiteRT); the plot it writes is
copied to docs/img/timeline.png and the first rows of its CSV are printed.

    python experiments/tools/timeline_example.py [--out docs/img/timeline.png]

The faces are the first sample row of each of happy, surprise, neutral, sad and angry, in that order
(a face held for 1.5 s, then a 1 s cross-fade), 10 frames per second, upscaled to 192 pixels on a gray
canvas; the video and the CSV stay in a temporary folder. What the model says of each face is its
own: the clip is a demonstration of the files, not a benchmark.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ORDER = ("happy", "surprise", "neutral", "sad", "angry")
FPS, HOLD, FADE = 10, 15, 10  # frames per second; frames each face is held; frames of each cross-fade


def frames():
    """The clip's (H, W, 3) uint8 RGB frames."""
    from fer_keras.data import load_dataset
    from fer_keras.data.sample import faces_on_canvas, sample_path

    record = load_dataset("fer2013", sample_path(), split="Training")
    faces = [record.images[np.flatnonzero(record.labels == record.class_names.index(name))[0], :, :, 0]
             for name in ORDER]
    canvases = [faces_on_canvas(face[None])[0].astype(np.float32) for face in faces]
    out = []
    for k, canvas in enumerate(canvases):
        out += [canvas] * HOLD
        if k + 1 < len(canvases):
            out += [(1 - t) * canvas + t * canvases[k + 1] for t in np.linspace(0, 1, FADE + 2)[1:-1]]
    return [np.rint(frame).astype(np.uint8) for frame in out]


def write_clip(path, clip):
    import cv2

    height, width = clip[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    if not writer.isOpened():
        raise SystemExit("timeline_example: OpenCV cannot write mp4v videos here")
    for frame in clip:
        writer.write(frame[..., ::-1].copy())
    writer.release()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "timeline.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mp4"
        write_clip(clip, frames())
        command = ["fer-keras", "predict", str(clip), "--out", str(Path(folder) / "annotated")]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(folder) / "annotated" / "clip.png", args.out)
        print(f"wrote {args.out} from `fer-keras predict clip.mp4 --out annotated/`; annotated/clip.csv begins:")
        sys.stdout.write("".join((Path(folder) / "annotated" / "clip.csv").read_text().splitlines(True)[:4]))


if __name__ == "__main__":
    main()
