"""BlazeFace's crops calibrated on FER2013 Training photos: which makes its faces as accurate as MTCNN's? (issue 36)

`fer-keras predict`'s default path (BlazeFace, five points aligned to `TEMPLATE` without rotation,
one view) was right on 63.0% of the faces it found in benchmarks/inference.py, MTCNN's on 68.5%.
BlazeFace gives a square box and six keypoints (eye centres, nose tip, mouth centre, ear tragions),
not MTCNN's five landmarks; the old five points put mouth corners at the mouth centre +- a fixed
share of the eye vector. Here the five landmarks are instead *predicted* from BlazeFace's outputs
by mappings fitted on FER2013 Training faces:

- Fit (FER2013 **Training** rows only): photos built exactly as benchmarks/inference.py builds its
  photos (one or two faces upscaled 48 -> 192 px on a grey canvas, `make_photos`), BlazeFace and
  MTCNN run on each; on the faces both find, least-squares mappings from BlazeFace's outputs to
  MTCNN's five landmarks; on the faces BlazeFace finds, to FER2013's own framing (`TEMPLATE` placed
  in the planted box: aligning those points crops exactly the original row).
- Choose: photos of PublicTest rows after the benchmark's (--select-photos of them, rows 300-1799 by
  default); the variant right on the most faces BlazeFace finds there, one view each, with the
  bundled default model, wins.
- Read: benchmarks/inference.py's own photos (PublicTest rows from 0, --photos of them), used for
  neither fitting nor choosing.

Every variant cuts the same BlazeFace detections (once per photo); MTCNN's own crops, the planted
box and the original 48x48 rows are scored beside them, on the faces BlazeFace finds and on those
both detectors find, with how far each variant's 48-px crop lands from MTCNN's and from the planted
one (centre shift in pixels, mean |log scale ratio|). Variants (fitted numbers in brackets):
- "five points (old)": the construction before (`five_points`; no fit);
- "box crop": fer_keras's `fit_box_crop` / `box_landmarks`, the square framing the face as FER2013
  does, from the box alone [3: dx, dy, ratio];
- "box": MTCNN's landmarks' mean place in the box (centre, width, height) [10];
- "keypoints K": Procrustes frame of the BlazeFace keypoints K (a similarity fitted to their mean
  shape), the target's mean place in that frame [2 x (|K| + 5)]; K = eyes, nose, mouth (4) or all six;
- "keypoints K + box": the same with the box's corners as four more points of the frame;
- "linear": each target coordinate a ridge least-squares linear function of the keypoints and the
  box's corners, in the box's frame [10 x 21].
The "back" model (256x256) gets its own box crop, fitted on the same Training photos and read on the
same photos against its old five points.

    python experiments/probes/blazeface_calibration_probe.py [--train-photos 1500] [--select-photos 1000]
        [--photos 200] [--cache DIR] [--out experiments/results/blazeface_calibration_probe.json]

About 30 minutes on a 2-core CPU (MTCNN on 2,700 photos dominates; --cache keeps the detections).
The fitted box crops are printed and stored ("box_crop_fitted"); fer_keras/data/faces/blazeface.py's
BOX_CROP carries them ("box_crop_in_fer_keras_matches" checks it).
"""

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.inference import DEFAULT_CSV, iou, machine, make_photos  # noqa: E402

DEFAULT_OUT = ROOT / "experiments" / "results" / "blazeface_calibration_probe.json"
MATCH_IOU = 0.3
FOUR = (0, 1, 2, 3)  # BlazeFace keypoints: eyes (image order), nose tip, mouth centre
SIX = (0, 1, 2, 3, 4, 5)  # ... and the ear tragions (image order)


# ------------------------------------------------------------------------------ detections


def ordered_keypoints(keypoints):
    """BlazeFace's (K, 6, 2) keypoints with the eyes and the ears in image order (left first), as
    MTCNN's landmarks are."""
    keypoints = np.array(keypoints, np.float64)
    for a, b in ((0, 1), (4, 5)):
        swap = keypoints[:, a, 0] > keypoints[:, b, 0]
        keypoints[swap, a], keypoints[swap, b] = keypoints[swap, b].copy(), keypoints[swap, a].copy()
    return keypoints


def match(boxes, found_boxes):
    """For each planted box, the index of its detection (greedy by IoU >= MATCH_IOU) or None."""
    free, out = list(range(len(found_boxes))), []
    for box in boxes:
        best = max(((iou(box, found_boxes[j]), j) for j in free), default=(0.0, None))
        if best[0] >= MATCH_IOU:
            free.remove(best[1])
            out.append(best[1])
        else:
            out.append(None)
    return out


def collect(photos, progress=""):
    """Per planted face: the planted box, BlazeFace's box and six keypoints (NaN when not found) and
    MTCNN's five landmarks (NaN when not found), with the photo index."""
    from fer_keras.data.faces import detect_faces
    from fer_keras.data.faces.blazeface import raw_detections

    n = sum(len(p["boxes"]) for p in photos)
    out = {"planted": np.zeros((n, 4)), "photo": np.zeros(n, np.int64), "bf_box": np.full((n, 4), np.nan),
           "bf_points": np.full((n, 6, 2), np.nan), "mt_points": np.full((n, 5, 2), np.nan)}
    face = 0
    for start in range(0, len(photos), 32):
        chunk = photos[start : start + 32]
        mtcnn = detect_faces([p["rgb"] for p in chunk], batch_size=16)
        blaze = raw_detections([p["rgb"] for p in chunk])
        for i, (photo, marks, (boxes, keypoints, _)) in enumerate(zip(chunk, mtcnn, blaze)):
            k = len(photo["boxes"])
            out["planted"][face : face + k] = photo["boxes"]
            out["photo"][face : face + k] = start + i
            keypoints = ordered_keypoints(keypoints)
            for f, j in enumerate(match(photo["boxes"], boxes)):
                if j is not None:
                    out["bf_box"][face + f], out["bf_points"][face + f] = boxes[j], keypoints[j]
            for f, j in enumerate(match(photo["boxes"], marks.boxes)):
                if j is not None:
                    out["mt_points"][face + f] = marks.landmarks[j]
            face += k
        if progress:
            print(f"{progress}: {min(start + 32, len(photos))}/{len(photos)} photos", file=sys.stderr, flush=True)
    return out


# ------------------------------------------------------------------------------ the mappings


def template_in_box(boxes):
    """(N, 5, 2): `TEMPLATE` placed in boxes (N, 4); aligning them crops exactly the box."""
    from fer_keras.data.faces import TEMPLATE

    boxes = np.asarray(boxes, np.float64)
    size = boxes[:, 2:] - boxes[:, :2]
    return boxes[:, None, :2] + TEMPLATE[None].astype(np.float64) * size[:, None]


def box_corners(boxes):
    x1, y1, x2, y2 = np.asarray(boxes, np.float64).T
    return np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1), np.stack([x1, y2], -1), np.stack([x2, y2], -1)], 1)


def to_box_frame(points, boxes):
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = boxes[:, 2:] - boxes[:, :2]
    return (points - centre[:, None]) / size[:, None]


def from_box_frame(points, boxes):
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = boxes[:, 2:] - boxes[:, :2]
    return points * size[:, None] + centre[:, None]


def similarity_to(source, target):
    """Per row, the complex (a, b) of the least-squares similarity z -> a z + b taking `source`
    (N, P, 2) onto `target` (P, 2) or (N, P, 2)."""
    z = source[..., 0] + 1j * source[..., 1]
    w = np.broadcast_to(target[..., 0] + 1j * target[..., 1], z.shape)
    zc, wc = z - z.mean(-1, keepdims=True), w - w.mean(-1, keepdims=True)
    a = (np.conj(zc) * wc).sum(-1) / (np.abs(zc) ** 2).sum(-1)
    return a, w.mean(-1) - a * z.mean(-1)


def apply(a, b, points):
    z = a[:, None] * (points[..., 0] + 1j * points[..., 1]) + b[:, None]
    return np.stack([z.real, z.imag], -1)


def frame_points(boxes, keypoints, which, with_box):
    points = keypoints[:, list(which)]
    return np.concatenate([points, box_corners(boxes)], 1) if with_box else points


def fit_procrustes(boxes, keypoints, target, which, with_box, rounds=5):
    """{"mean_shape": (P, 2), "template": (5, 2)}: the frame points' mean shape (generalised
    Procrustes, in units of the box) and the target landmarks' mean place in that frame."""
    points = frame_points(boxes, keypoints, which, with_box)
    shape = to_box_frame(points, boxes).mean(0)
    for _ in range(rounds):
        a, b = similarity_to(points, shape)
        shape = apply(a, b, points).mean(0)
        shape = shape - shape.mean(0)
        shape = shape / np.sqrt((shape ** 2).sum())
    a, b = similarity_to(points, shape)
    return {"mean_shape": shape, "template": apply(a, b, target).mean(0)}


def predict_procrustes(fit, boxes, keypoints, which, with_box):
    a, b = similarity_to(frame_points(boxes, keypoints, which, with_box), fit["mean_shape"])
    return apply(1 / a, -b / a, np.broadcast_to(fit["template"], (len(a), 5, 2)))


def fit_box(boxes, target):
    return {"template": to_box_frame(target, boxes).mean(0)}


def predict_box(fit, boxes):
    return from_box_frame(np.broadcast_to(fit["template"], (len(boxes), 5, 2)), boxes)


def linear_features(boxes, keypoints):
    points = np.concatenate([keypoints, box_corners(boxes)], 1)
    flat = to_box_frame(points, boxes).reshape(len(boxes), -1)
    return np.concatenate([flat, np.ones((len(boxes), 1))], 1)


def fit_linear(boxes, keypoints, target, ridge=1e-3):
    x = linear_features(boxes, keypoints)
    y = to_box_frame(target, boxes).reshape(len(boxes), -1)
    weights = np.linalg.solve(x.T @ x + ridge * len(x) * np.eye(x.shape[1]), x.T @ y)
    return {"weights": weights}


def predict_linear(fit, boxes, keypoints):
    return from_box_frame((linear_features(boxes, keypoints) @ fit["weights"]).reshape(-1, 5, 2), boxes)


def old_five_points(keypoints):
    from fer_keras.data.faces.blazeface import five_points

    return five_points(keypoints.astype(np.float32)).astype(np.float64)


def fit_library_box_crop(boxes, keypoints, target, planted, model="blazeface"):
    from fer_keras.data.faces.blazeface import fit_box_crop

    return {"box_crop": np.array(fit_box_crop(boxes, planted))}


def predict_library_box_crop(fit, boxes, keypoints):
    from fer_keras.data.faces.blazeface import box_landmarks

    return box_landmarks(boxes, keypoints, tuple(fit["box_crop"])).astype(np.float64)


PROCRUSTES = {"keypoints 4": (FOUR, False), "keypoints 6": (SIX, False), "keypoints 4 + box": (FOUR, True),
              "keypoints 6 + box": (SIX, True)}
BOTH = ("mtcnn", "fer2013 framing")
# name: (fit(boxes, keypoints, target landmarks, planted boxes) or None, predict(fit, boxes, keypoints), targets)
VARIANTS = {
    "five points (old)": (None, lambda fit, b, k: old_five_points(k), ("none",)),
    "box": (lambda b, k, t, p: fit_box(b, t), lambda fit, b, k: predict_box(fit, b), ("mtcnn",)),
    "box crop": (fit_library_box_crop, predict_library_box_crop, ("fer2013 framing",)),
    **{name: (lambda b, k, t, p, how=how: fit_procrustes(b, k, t, *how),
              lambda fit, b, k, how=how: predict_procrustes(fit, b, k, *how), BOTH) for name, how in PROCRUSTES.items()},
    "linear": (lambda b, k, t, p: fit_linear(b, k, t), lambda fit, b, k: predict_linear(fit, b, k), BOTH),
}


# ------------------------------------------------------------------------------ scoring


def crop_error(points, reference, side=48):
    """(centre shift in pixels of a side-px crop, |log scale ratio|) between the upright crops of
    two sets of five landmarks (N, 5, 2), each aligned to TEMPLATE * side."""
    from fer_keras.data.faces import alignment_matrix

    m, r = alignment_matrix(points, side, rotation=False), alignment_matrix(reference, side, rotation=False)
    centre = np.array([side / 2, side / 2])
    source = (centre - m[:, :, 2]) / m[:, [0], [0]]  # the photo point at the crop's centre
    moved = r[:, :, :2] @ source[..., None]
    shift = np.linalg.norm(moved[..., 0] + r[:, :, 2] - centre, axis=-1)
    return float(shift.mean()), float(np.abs(np.log(m[:, 0, 0] / r[:, 0, 0])).mean())


def classify_points(photos, data, points, trained):
    """Top class per planted face (-1 where `points` is NaN), one view, as predict classifies."""
    from fer_keras.classify import classify, concat_inputs, face_inputs

    model, recipe = trained.model, trained.recipe
    parts, index = [], []
    for i, photo in enumerate(photos):
        rows = np.flatnonzero((data["photo"] == i) & ~np.isnan(points).any(axis=(1, 2)))
        if len(rows):
            parts.append(face_inputs(photo["rgb"], points[rows], recipe, model))
            index.extend(rows)
    top = np.full(len(points), -1)
    if index:
        top[np.array(index)] = classify(model, recipe, concat_inputs(parts), 64, None).argmax(-1)
    return top


def rounded(value, digits=4):
    return round(float(value), digits)


def to_json(fit):
    return {key: np.round(value, 5).tolist() for key, value in fit.items()}


class Rows:
    """Rows `start`.. of a record, as `make_photos` reads them."""

    def __init__(self, record, start):
        self.images, self.labels, self.split, self.start = record.images[start:], record.labels[start:], record.split, start

    def __len__(self):
        return len(self.labels)


def detections(record, start, count, cache, progress):
    """(photos, collected detections) of `count` photos from rows `start`.. of `record`, read
    from / kept in the folder `cache` when given."""
    rows = Rows(record, start)
    photos = make_photos(rows, count)
    path = None if cache is None else Path(cache) / f"blazeface_calibration_{record.split}_{start}_{count}.npz"
    if path is not None and path.is_file():
        stored = np.load(path)
        return photos, {key: stored[key] for key in stored.files}
    data = collect(photos, f"{record.split} photos" if progress else "")
    data["label"] = np.array([label for p in photos for label in p["labels"]])
    data["row"] = np.array([start + r for p in photos for r in p["rows"]])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **data)
    return photos, data


def back_detections(photos, data, record, start, count, cache):
    """BlazeFace "back" (256x256) on the same photos: `data` with its boxes and keypoints in place
    of the short-range model's (kept in `cache` as well)."""
    from fer_keras.data.faces.blazeface import raw_detections

    path = None if cache is None else Path(cache) / f"blazeface_calibration_back_{record.split}_{start}_{count}.npz"
    if path is not None and path.is_file():
        stored = np.load(path)
        return {**data, "bf_box": stored["bf_box"], "bf_points": stored["bf_points"]}
    box, points = np.full_like(data["bf_box"], np.nan), np.full_like(data["bf_points"], np.nan)
    face = 0
    for photo, (boxes, keypoints, _) in zip(photos, raw_detections([p["rgb"] for p in photos], model="blazeface_back")):
        keypoints = ordered_keypoints(keypoints)
        for f, j in enumerate(match(photo["boxes"], boxes)):
            if j is not None:
                box[face + f], points[face + f] = boxes[j], keypoints[j]
        face += len(photo["boxes"])
    if path is not None:
        np.savez(path, bf_box=box, bf_points=points)
    return {**data, "bf_box": box, "bf_points": points}


def score_back(photos, data, box_crop, trained):
    """The "back" model's faces: accuracy (found faces) with the old five points and with its box crop."""
    found = ~np.isnan(data["bf_box"]).any(1)
    out = {"faces": int(len(found)), "blazeface_back_found": int(found.sum())}
    for name, predict in (("five points (old)", lambda b, k: old_five_points(k)),
                          ("box crop", lambda b, k: predict_library_box_crop({"box_crop": box_crop}, b, k))):
        points = np.full((len(found), 5, 2), np.nan)
        points[found] = predict(data["bf_box"][found], data["bf_points"][found])
        top = classify_points(photos, data, points, trained)
        out[f"accuracy_on_found: {name}"] = rounded((top[found] == data["label"][found]).mean())
    return out


def score(photos, data, record, fits, trained):
    """Every variant's accuracy on the faces BlazeFace found (and on those both detectors found),
    with MTCNN's own crops, the planted box and the original rows beside them."""
    from fer_keras.classify import classify

    labels = data["label"]
    original = classify(trained.model, trained.recipe, record.images[data["row"]], 64, None).argmax(-1)
    found_bf = ~np.isnan(data["bf_box"]).any(1)
    found_mt = ~np.isnan(data["mt_points"]).any(axis=(1, 2))
    found_both = found_bf & found_mt
    planted_points = template_in_box(data["planted"])

    def accuracy(top, mask):
        return rounded((top[mask] == labels[mask]).mean()) if mask.any() else None

    results = {"original 48x48 rows (the model's own input)": {
        "accuracy_on_blazeface_found": accuracy(original, found_bf), "accuracy_on_both_found": accuracy(original, found_both),
        "accuracy_on_mtcnn_found": accuracy(original, found_mt)}}
    mt_top = classify_points(photos, data, data["mt_points"], trained)
    shift, scale = crop_error(data["mt_points"][found_mt], planted_points[found_mt])
    results["mtcnn landmarks (--detector mtcnn)"] = {
        "accuracy_on_mtcnn_found": accuracy(mt_top, found_mt), "accuracy_on_both_found": accuracy(mt_top, found_both),
        "crop_error_vs_planted": {"centre_shift_px48": rounded(shift), "abs_log_scale": rounded(scale)}}
    planted_top = classify_points(photos, data, np.where(found_bf[:, None, None], planted_points, np.nan), trained)
    results["planted box (FER2013's framing, an oracle)"] = {
        "accuracy_on_blazeface_found": accuracy(planted_top, found_bf),
        "accuracy_on_both_found": accuracy(planted_top, found_both)}
    for name, (fitter, predictor, targets) in VARIANTS.items():
        for target in targets:
            points = np.full((len(labels), 5, 2), np.nan)
            points[found_bf] = predictor(fits.get((name, target)), data["bf_box"][found_bf], data["bf_points"][found_bf])
            top = classify_points(photos, data, points, trained)
            row = {"accuracy_on_blazeface_found": accuracy(top, found_bf), "accuracy_on_both_found": accuracy(top, found_both)}
            for where, ref, mask in (("mtcnn", data["mt_points"], found_both), ("planted", planted_points, found_bf)):
                shift, scale = crop_error(points[mask], ref[mask])
                row[f"crop_error_vs_{where}"] = {"centre_shift_px48": rounded(shift), "abs_log_scale": rounded(scale)}
            label = name if target == "none" else f"{name} -> {target}"
            results[label] = row
            print(f"{record.split} {label:40s} {row['accuracy_on_blazeface_found']} (both {row['accuracy_on_both_found']}) "
                  f"vs mtcnn {row['crop_error_vs_mtcnn']} vs planted {row['crop_error_vs_planted']}", flush=True)
    counts = {"photos": len(photos), "faces": int(len(labels)), "blazeface_found": int(found_bf.sum()),
              "mtcnn_found": int(found_mt.sum()), "both_found": int(found_both.sum()),
              "rows": f"{record.split} rows {int(data['row'][0])}-{int(data['row'][-1])} in order"}
    return counts, results


def run(args):
    from fer_keras.data import load_dataset
    from fer_keras.loading import load_pretrained_trained

    start = time.perf_counter()
    train = load_dataset("fer2013", args.csv, split="Training")
    public = load_dataset("fer2013", args.csv, split="PublicTest")
    train_photos, fit_data = detections(train, 0, args.train_photos, args.cache, args.progress)
    bench_photos, bench_data = detections(public, 0, args.photos, args.cache, args.progress)
    select_start = len(bench_data["label"])  # the benchmark's rows are never used to choose
    select_photos, select_data = detections(public, select_start, args.select_photos, args.cache, args.progress)

    # ---- fit on Training: the faces both detectors found (MTCNN target) / BlazeFace found (framing)
    bf_found = ~np.isnan(fit_data["bf_box"]).any(1)
    both = bf_found & ~np.isnan(fit_data["mt_points"]).any(axis=(1, 2))
    targets = {"mtcnn": (both, fit_data["mt_points"]),
               "fer2013 framing": (bf_found, template_in_box(fit_data["planted"]))}
    fits = {}
    for name, (fitter, _, names) in VARIANTS.items():
        for target in names:
            if fitter is not None:
                rows, points = targets[target]
                fits[(name, target)] = fitter(fit_data["bf_box"][rows], fit_data["bf_points"][rows], points[rows],
                                              fit_data["planted"][rows])

    trained = load_pretrained_trained(args.model)
    select_counts, select_results = score(select_photos, select_data, public, fits, trained)
    bench_counts, bench_results = score(bench_photos, bench_data, public, fits, trained)
    fitted_names = [k for k, r in select_results.items() if "accuracy_on_blazeface_found" in r and "crop_error_vs_mtcnn" in r]
    winner = max(fitted_names, key=lambda k: select_results[k]["accuracy_on_blazeface_found"])

    # ---- the "back" model (256x256): its own box crop, fitted on the same Training photos
    from fer_keras.data.faces.blazeface import BOX_CROP, fit_box_crop

    back_fit = back_detections(train_photos, fit_data, train, 0, args.train_photos, args.cache)
    back_found = ~np.isnan(back_fit["bf_box"]).any(1)
    back_crop = np.array(fit_box_crop(back_fit["bf_box"][back_found], back_fit["planted"][back_found]))
    back = {"fit": {"faces": int(back_found.sum()), "box_crop": np.round(back_crop, 5).tolist()}}
    for label, (photos, data, first) in {"selection": (select_photos, select_data, select_start),
                                         "benchmark": (bench_photos, bench_data, 0)}.items():
        data = back_detections(photos, data, public, first, len(photos), args.cache)
        back[label] = score_back(photos, data, back_crop, trained)
    library = {"blazeface": np.round(fits[("box crop", "fer2013 framing")]["box_crop"], 4).tolist(),
               "blazeface_back": np.round(back_crop, 4).tolist()}
    matches = {name: bool(np.allclose(BOX_CROP[name], value, atol=5e-5)) for name, value in library.items()}
    print(f"fitted box crops (dx, dy, ratio), 4 decimals: {library}; fer_keras's BOX_CROP the same: {matches}", flush=True)
    return {
        "what": "BlazeFace's five landmarks predicted from its box and keypoints by mappings fitted on FER2013 Training "
                "photos (to MTCNN's landmarks, or to TEMPLATE in the planted box), each scored one view per face with "
                f"the bundled {args.model} on photos of PublicTest rows; BlazeFace once per photo, every variant "
                "cutting the same detections. The variant is chosen on the selection photos (PublicTest rows after "
                "the benchmark's), then read on benchmarks/inference.py's photos (PublicTest rows from 0), used for "
                "neither fitting nor choosing",
        "fit": {"split": "Training", "photos": args.train_photos, "faces": int(len(bf_found)),
                "blazeface_found": int(bf_found.sum()), "both_found (mtcnn target)": int(both.sum()),
                "rows": f"Training rows 0-{int(fit_data['row'][-1])} in order"},
        "selection": {**select_counts, "results": select_results},
        "benchmark": {**bench_counts, "results": bench_results},
        "chosen": {"variant": winner, "rule": "highest accuracy on the faces BlazeFace finds in the selection photos",
                   "selection": select_results[winner], "benchmark": bench_results[winner]},
        "blazeface_back": back,
        "box_crop_fitted": library,
        "box_crop_in_fer_keras_matches": matches,
        "model": args.model,
        "fitted": {f"{name} -> {target}": to_json(fit) for (name, target), fit in fits.items() if "linear" not in name},
        "seconds": round(time.perf_counter() - start, 1),
        "detections_cache": None if args.cache is None else "detections read from --cache where it held them",
        "machine": machine(),
        "command": " ".join(["python", "experiments/probes/blazeface_calibration_probe.py", *sys.argv[1:]]),
        "date": date.today().isoformat(),
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--train-photos", type=int, default=1500, help="Training photos for the fit (1 and 2 faces alternately)")
    parser.add_argument("--photos", type=int, default=200,
                        help="benchmark photos: PublicTest rows from 0 (benchmarks/inference.py's)")
    parser.add_argument("--select-photos", type=int, default=1000, help="selection photos: PublicTest rows after the benchmark's")
    parser.add_argument("--model", default=None, help="bundled model (default: predict's default)")
    parser.add_argument("--cache", default=None, help="a folder keeping the detections between runs (.npz files)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    if args.model is None:
        from fer_keras.models.pretrained import DEFAULT_PRETRAINED

        args.model = DEFAULT_PRETRAINED
    return args


def main(argv=None):
    args = parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
