"""How `fer-keras predict` should cut faces out of photos: crop geometry and photo scale (issue 18).

The same photos as benchmarks/inference.py (one or two real FER2013 PublicTest faces, upscaled from
48 to 192 pixels on a grey canvas), each also resized to --scales of that size (0.5x: 96-pixel
faces ... 4x: 768-pixel faces). The detector (--detector: BlazeFace, `fer-keras predict`'s default,
or MTCNN) finds the faces once per photo and scale; every variant then cuts the same detections
into the bundled model's (--model) input and classifies them (single crop):

- geometry "similarity": the five landmarks mapped onto FER2013's mean landmarks by rotation, scale
  and translation (the face de-rotated); "upright": scale and translation only (the face keeps its
  tilt, as in FER2013's own crops, which is what AMDCNN was trained on);
- warp "bilinear": one bilinear warp from the photo (a large face is subsampled and aliases);
  "area first": area-averaged down to about the output's scale first (`faces._shrink_first`).

Reported per variant: accuracy on the planted faces found (IoU >= 0.3) per scale and pooled, and
how often a face's top emotion at a scale differs from its top emotion at 1x (faces found at every
scale). The model's accuracy on the same faces' original 48x48 rows is the ceiling.

    python benchmarks/predict_geometry.py [--photos 100] [--scales 0.5,1,2,4] [--model NAME] [--detector blazeface] [--out benchmarks/results/predict_geometry.json]

A quick check: --photos 4 --scales 1,2 --out /tmp/predict_geometry.json
"""

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.inference import DEFAULT_CSV, iou, machine, make_photos  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "predict_geometry.json"
MATCH_IOU = 0.3
VARIANTS = {  # name: (rotation, area-first warp)
    "similarity, bilinear": (True, False),
    "similarity, area first": (True, True),
    "upright, bilinear": (False, False),
    "upright, area first": (False, True),
}


def resize(photo, scale):
    import cv2

    if scale == 1:
        return photo["rgb"], photo["boxes"]
    height, width = photo["rgb"].shape[:2]
    size = (round(width * scale), round(height * scale))
    image = cv2.resize(photo["rgb"], size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return image, [tuple(v * scale for v in box) for box in photo["boxes"]]


def shift_rows(images, dx, dy):
    """(N, 48, 48, 1) uint8 rows moved by (dx, dy) pixels, the edge replicated."""
    import cv2

    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return np.stack([cv2.warpAffine(im, matrix, im.shape[1::-1], borderMode=cv2.BORDER_REPLICATE).reshape(im.shape)
                     for im in images])


def matched_faces(boxes, marks):
    """For each planted box, the index of its detection (greedy by IoU >= MATCH_IOU) or None."""
    free, match = list(range(len(marks))), []
    for box in boxes:
        best = max(((iou(box, marks.boxes[j]), j) for j in free), default=(0.0, None))
        if best[0] >= MATCH_IOU:
            free.remove(best[1])
            match.append(best[1])
        else:
            match.append(None)
    return match


def run(args):
    from fer_keras.data import faces, load_dataset
    from fer_keras.data.faces import alignment_matrix, detect_faces, detect_faces_blazeface
    from fer_keras.classify import classify, face_inputs
    from fer_keras.loading import load_pretrained_trained
    from fer_keras.run.write import write_json

    record = load_dataset("fer2013", args.csv, split="PublicTest")
    photos = make_photos(record, args.photos)
    trained = load_pretrained_trained(args.model)
    model, recipe = trained.model, trained.recipe
    rows = [r for p in photos for r in p["rows"]]
    labels = np.array([label for p in photos for label in p["labels"]])
    ceiling = classify(model, recipe, record.images[rows], tta=None).argmax(-1)

    shift_changes = {}
    for pixels in (1, 2):  # how much the model's answer depends on where the face sits
        changed = np.zeros(len(rows), bool)
        for dx, dy in ((pixels, 0), (-pixels, 0), (0, pixels), (0, -pixels)):
            moved = shift_rows(record.images[rows], dx, dy)
            changed |= classify(model, recipe, moved, tta=None).argmax(-1) != ceiling
        shift_changes[f"{pixels}px"] = round(float(changed.mean()), 4)

    top = {name: np.full((len(args.scales), len(labels)), -1) for name in VARIANTS}  # -1: not found
    points = np.full((len(args.scales), len(labels), 5, 2), np.nan)
    found = np.zeros((len(args.scales), len(labels)), bool)
    seconds = []
    default_shrink = faces.MAX_WARP_SHRINK
    for s, scale in enumerate(args.scales):
        start = time.perf_counter()
        face = 0
        for i, photo in enumerate(photos):
            image, boxes = resize(photo, scale)
            if args.detector == "mtcnn":
                marks = detect_faces(image, min_confidence=0.9)
            else:
                marks = detect_faces_blazeface(image, model=args.detector)
            for k, j in enumerate(matched_faces(boxes, marks)):
                if j is not None:
                    found[s, face + k] = True
                    points[s, face + k] = marks.landmarks[j] / scale  # in the 1x photo's pixels
                    for name, (rotation, area_first) in VARIANTS.items():
                        faces.MAX_WARP_SHRINK = default_shrink if area_first else 0.0
                        try:
                            inputs = face_inputs(image, marks.landmarks[j : j + 1], recipe, model, rotation=rotation)
                        finally:
                            faces.MAX_WARP_SHRINK = default_shrink
                        top[name][s, face + k] = int(classify(model, recipe, inputs, tta=None).argmax(-1)[0])
            face += len(boxes)
            if args.progress and (i + 1) % 20 == 0:
                print(f"scale {scale}: {i + 1}/{len(photos)} photos", file=sys.stderr)
        seconds.append(round(time.perf_counter() - start, 1))

    base = args.scales.index(1.0)
    everywhere = found.all(axis=0)
    jitter = {}
    for s, scale in enumerate(args.scales):  # where the 48x48 crop's centre and scale land, against 1x
        if s == base or not everywhere.any():
            continue
        m1 = alignment_matrix(points[base, everywhere], 48, rotation=False)
        ms = alignment_matrix(points[s, everywhere], 48, rotation=False)
        centre = np.array([24.0, 24.0])
        source = np.stack([np.linalg.solve(m[:, :2], centre - m[:, 2]) for m in ms])
        moved = np.einsum("nij,nj->ni", m1[:, :, :2], source) + m1[:, :, 2]
        jitter[f"{scale:g}x"] = {
            "crop_centre_shift_pixels_mean": round(float(np.linalg.norm(moved - centre, axis=-1).mean()), 3),
            "crop_scale_ratio_abs_log_mean": round(float(np.abs(np.log(ms[:, 0, 0] / m1[:, 0, 0])).mean()), 4),
        }
    results = {}
    for name, tops in top.items():
        per_scale = {}
        for s, scale in enumerate(args.scales):
            hit = found[s]
            per_scale[f"{scale:g}x"] = {
                "faces_found": int(hit.sum()),
                "accuracy_on_found": round(float((tops[s][hit] == labels[hit]).mean()), 4) if hit.any() else None,
                "top_emotion_differs_from_1x": None if s == base else round(
                    float((tops[s][everywhere] != tops[base][everywhere]).mean()), 4) if everywhere.any() else None,
            }
        pooled = found
        results[name] = {
            "per_scale": per_scale,
            "accuracy_on_found_pooled": round(float((tops[pooled] == np.broadcast_to(labels, tops.shape)[pooled]).mean()), 4),
            "faces_whose_top_emotion_changes_across_scales": round(
                float((tops[:, everywhere] != tops[base, everywhere]).any(axis=0).mean()), 4),
            "agreement_with_the_original_48x48_row_pooled": round(
                float((tops[pooled] == np.broadcast_to(ceiling, tops.shape)[pooled]).mean()), 4),
        }
    return {
        "what": f"bundled {args.model}, single crop, on FER2013 PublicTest faces planted in photos (benchmarks/inference.py's "
                f"photos) resized to each scale; {args.detector} once per photo and scale; each variant cuts the same detections",
        "model": args.model,
        "detector": args.detector,
        "source": str(args.csv),
        "split": "PublicTest",
        "photos": len(photos),
        "planted_faces": int(len(labels)),
        "scales": args.scales,
        "face_side_at_1x": 192,
        "faces_found_at_every_scale": int(everywhere.sum()),
        "ceiling_accuracy_original_48x48_rows": round(float((ceiling == labels).mean()), 4),
        "original_rows_whose_top_emotion_changes_when_shifted": shift_changes,
        "landmark_jitter_against_1x_upright_48px_crop": jitter,
        "variants": results,
        "default": "upright, area first",
        "detection_seconds_per_scale": dict(zip((f"{s:g}x" for s in args.scales), seconds)),
        "machine": machine(),
        "command": " ".join(["python", "benchmarks/predict_geometry.py", *sys.argv[1:]]),
        "date": date.today().isoformat(),
    }, write_json


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--scales", default="0.5,1,2,4")
    parser.add_argument("--model", default=None, help="bundled model (default: predict's default)")
    from fer_keras.predict import DETECTORS

    parser.add_argument("--detector", default=DETECTORS[0], choices=DETECTORS,
                        help="face detector (default: predict's, BlazeFace)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    args.scales = [float(v) for v in args.scales.split(",")]
    if 1.0 not in args.scales:
        parser.error("--scales must include 1")
    if args.model is None:
        from fer_keras.models.pretrained import DEFAULT_PRETRAINED

        args.model = DEFAULT_PRETRAINED
    return args


def main(argv=None):
    args = parse_args(argv)
    result, write_json = run(args)
    write_json(result, args.out)
    for name, r in result["variants"].items():
        print(f"{name:24s} accuracy {r['accuracy_on_found_pooled']:.3f}  changes across scales "
              f"{r['faces_whose_top_emotion_changes_across_scales']:.3f}  agrees with 48x48 row "
              f"{r['agreement_with_the_original_48x48_row_pooled']:.3f}")
    print(f"ceiling (original rows): {result['ceiling_accuracy_original_48x48_rows']:.3f}; "
          f"shifted rows change: {result['original_rows_whose_top_emotion_changes_when_shifted']}; "
          f"jitter: {result['landmark_jitter_against_1x_upright_48px_crop']}; wrote {args.out}")


if __name__ == "__main__":
    main()
