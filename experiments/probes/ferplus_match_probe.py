"""How well do FER2013's Training rows match FERPlus's FER2013Train images by their pixels? (issue 36)

The shared fer2013.csv.gz was rebuilt from the JPEG release: its rows are in another order and its
pixels went through a contrast stretch (clipped to 0 and 255 in places) and JPEG, so rows are matched
by `fer_keras.data.ferplus_match` (histogram-matched distance, see its docstring). This probe runs
the matching on the real files, without the cache, and counts what a recipe with
`data.options.ferplus_targets` would get:

    python experiments/probes/ferplus_match_probe.py [--fer2013 PATH] [--ferplus DIR]

Writes experiments/results/ferplus_match.json: the rows per status (matched, unmatched, ambiguous,
nearer a FER2013Valid image), the distance quantiles, the gap to the next distinct candidate, the
FER2013Valid collisions, the rows whose picture FER2013Valid holds too, the agreement of FERPlus's
majority vote with FER2013's label (overall and per class), a brute-force check of the unmatched
rows' shortlist, and the seconds taken. Counts only: no pixels, no names.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from fer_keras.data import ferplus_folders, ferplus_match as fm
from fer_keras.data.fer2013 import load_fer2013
from fer_keras.data.labels import CLASS_NAMES
from fer_keras.data.shared import fer2013_csv, shared_data

OUT = Path(__file__).resolve().parents[1] / "results" / "ferplus_match.json"
QUANTILES = (0.5, 0.9, 0.99, 0.995, 0.999)


def quantiles(values):
    values = values[np.isfinite(values)]
    return {str(q): round(float(np.quantile(values, q)), 3) for q in QUANTILES} if len(values) else {}


def brute_force_check(images, reference, rows, threshold):
    """Of `rows` (unmatched), how many have a FER2013Train image within the threshold that the
    shortlist missed: the 32 most correlated images of the whole release are scored."""
    def z(x):
        x = x.reshape(len(x), -1).astype(np.float32)
        x -= x.mean(axis=1, keepdims=True)
        return x / np.maximum(x.std(axis=1, keepdims=True), 1.0)

    if not len(rows):
        return 0
    ref_z = z(reference)
    found = 0
    for start in range(0, len(rows), 64):
        part = rows[start:start + 64]
        top = np.argsort(-(z(images[part]) @ ref_z.T), axis=1)[:, :32]
        ranks = fm.pixel_ranks(reference[top.ravel()]).reshape(len(part), top.shape[1], -1)
        scores = fm.matched_distance(images[part].reshape(len(part), -1), ranks)
        found += int((scores.min(axis=1) < threshold).sum())
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fer2013", default=str(fer2013_csv()))
    parser.add_argument("--ferplus", default=str(shared_data("ferplus")))
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    fer = load_fer2013(args.fer2013, split="Training")
    loaded = time.perf_counter()
    rows, reference, is_valid = fm.read_ferplus(args.ferplus)
    read = time.perf_counter()
    names = [rows["names"][i] for i in rows["kept"]]
    images = fer.images[..., 0]
    match = fm.match_images(images, reference, is_valid, names)
    matched_at = time.perf_counter()
    soft, used = fm.ferplus_targets(fer.labels, match, args.ferplus)
    done = time.perf_counter()

    counts = match.counts()
    position = {name: i for i, name in enumerate(names)}
    paired = [(i, position[name.split("|")[0]]) for i, name in enumerate(match.names) if name]
    raw = np.array([np.abs(images[i].astype(np.int16) - reference[j].astype(np.int16)).mean() for i, j in paired])
    ok = match.status == fm.MATCHED
    gap = match.second - match.distance
    train_rows, _, _, _ = ferplus_folders.read_label_files(Path(args.ferplus), ("Training",), fm.VOTES)
    majority = soft.argmax(axis=1)  # FERPlus's most-voted of the seven (copies pooled; ties: FER2013's order)
    agree = used & (majority == fer.labels)
    per_class = {}
    for label, name in enumerate(CLASS_NAMES):
        mask = used & (fer.labels == label)
        per_class[name] = {"rows": int(mask.sum()), "agreement": round(float(agree[mask].sum() / max(mask.sum(), 1)), 4)}
    unmatched = np.flatnonzero(match.status == fm.UNMATCHED)
    train_only = reference[~is_valid]
    missed = brute_force_check(images, train_only, unmatched, fm.THRESHOLD)
    valid_collisions = np.flatnonzero(match.status == fm.VALID)
    result = {
        "what": "FER2013 Training rows matched to FERPlus FER2013Train images by pixels (fer_keras.data.ferplus_match)",
        "command": "python " + " ".join(["experiments/probes/ferplus_match_probe.py", *(argv or sys.argv[1:])]),
        "inputs": {"fer2013_training_rows": int(len(fer)), "ferplus_train_images": int((~is_valid).sum()),
                   "ferplus_valid_images": int(is_valid.sum()), "ferplus_train_label_rows": int(len(train_rows["names"]))},
        "parameters": {"coarse": fm.COARSE, "components": fm.COMPONENTS, "candidates": fm.CANDIDATES,
                       "rescue_candidates": fm.RESCUE_CANDIDATES, "threshold_levels": fm.THRESHOLD,
                       "margin_levels": fm.MARGIN, "duplicate_levels": fm.DUPLICATE},
        "counts": counts,
        "targets": int(used.sum()),
        "one_hot_kept": int(len(fer) - used.sum()),
        "matched_fraction": round(float(ok.mean()), 5),
        "pooled_duplicates": {"rows_with_several_train_copies": int(sum("|" in name for name in match.names)),
                              "rows_whose_picture_valid_also_holds": int(match.also_valid.sum())},
        "distance_quantiles_matched": quantiles(match.distance[ok]),
        "distance_quantiles_all_rows": quantiles(match.distance),
        "distance_histogram_all_rows": dict(zip(
            ["<2", "2-4", "4-6", "6-8", "8-10", "10-12", "12-20", "20-30", ">=30"],
            np.histogram(np.minimum(match.distance, 1e3), bins=[0, 2, 4, 6, 8, 10, 12, 20, 30, 1e3 + 1])[0].tolist())),
        "raw_mean_abs_difference_quantiles_matched": quantiles(raw),
        "gap_to_next_distinct_candidate_quantiles_matched": quantiles(gap[ok]),
        "rows_with_a_distinct_candidate_within": {f"{m} levels": int(((gap < m) & (match.distance < fm.THRESHOLD)).sum())
                                                  for m in (1, 2, 3, 5)},
        "valid_collisions": {"rows_nearer_a_valid_image_than_any_train_image": int(len(valid_collisions)),
                             "their_distances": [round(float(match.valid_distance[i]), 2) for i in valid_collisions[:20]],
                             "rule": "these rows keep FER2013's one-hot label; FER2013Valid's votes are never read"},
        "unmatched_brute_force": {"rows": int(len(unmatched)), "with_a_train_image_within_threshold_outside_the_shortlist": missed},
        "ferplus_majority_agrees_with_fer2013_label": round(float(agree.sum() / max(used.sum(), 1)), 4),
        "agreement_per_fer2013_class": per_class,
        "confusion_rows_fer2013_label_columns_ferplus_majority": {
            "classes": list(CLASS_NAMES),
            "counts": np.bincount(7 * fer.labels[used] + majority[used], minlength=49).reshape(7, 7).tolist()},
        "ferplus_majority_neutral_fraction": round(float((majority[used] == 6).mean()), 4),
        "fer2013_label_neutral_fraction": round(float((fer.labels[used] == 6).mean()), 4),
        "seconds": {"load_fer2013": round(loaded - start, 2), "read_ferplus_pngs": round(read - loaded, 2),
                    "match": round(matched_at - read, 2), "targets": round(done - matched_at, 2),
                    "total": round(done - start, 2)},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
