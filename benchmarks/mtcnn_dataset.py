"""MTCNN preprocessing throughput for a whole dataset split: cold (empty cache: every image
detected, the .npz cache written) and cached (the cache read back), images per second, median of
several runs; plus MrCAR's region crops from the landmarks (what training does next).

`fer_keras.data.faces.landmarks_for_record` with its defaults, exactly as `fer-keras train` calls it
(fer_keras.data.faces.regions.region_inputs). Each cold run gets a new, empty cache folder ($FER_KERAS_CACHE
pointed at a temporary folder), so nothing from an earlier run or training is reused; the MTCNN
networks are loaded before timing. The cache is keyed by the source CSV, as in training, when that
key places it under $FER_KERAS_CACHE (the CSV's folder is read-only); when the CSV's folder is
writable it would land beside the CSV, so the benchmark keys it by the images instead (noted in the
results as "cache_key") and writes nothing next to your data.

    python benchmarks/mtcnn_dataset.py [--csv PATH] [--split Training] [--runs 3] [--limit N]
        [--out benchmarks/results/mtcnn_dataset.json]

A quick check: --limit 200 --runs 2 --out /tmp/mtcnn_dataset.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from fer_keras.data.shared import fer2013_csv

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = fer2013_csv()
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "mtcnn_dataset.json"


def machine():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, {f'{len(gpus)} GPU(s)' if gpus else 'no GPU'}, "
            f"{platform.python_implementation()} {platform.python_version()}")


def default_settings():
    """landmarks_for_record's cache settings for its default detector options."""
    from fer_keras.data.faces import DETECTOR_DEFAULTS

    return {k: tuple(float(t) for t in v) if k == "thresholds" else float(v) for k, v in DETECTOR_DEFAULTS.items()}


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--split", default="Training")
    parser.add_argument("--runs", type=int, default=3, help="cold runs, and cached reads (medians are reported)")
    parser.add_argument("--limit", type=int, default=None, help="only the split's first N images (a quick check)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.runs < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--runs and --limit must be positive")

    from fer_keras.quiet import import_keras_quietly

    import_keras_quietly()
    from fer_keras.data import load_dataset
    from fer_keras.data.faces import detect_landmarks, landmarks_cache_file, landmarks_for_record, region_crops_for_record

    record = load_dataset("fer2013", args.csv, split=args.split)  # with the usual FER2013 cache
    limited = args.limit is not None and args.limit < len(record)
    if limited:
        record = record.subset(range(args.limit))
    n = len(record)
    warm = detect_landmarks(record.images[:16], progress=False)  # warm-up: builds MTCNN, traces its networks
    region_crops_for_record(record.images[:16], warm, max(record.images.shape[1:3]))  # and OpenCV's warps
    saved_cache = os.environ.get("FER_KERAS_CACHE")
    cold, cached, regions, cache_key, cache_bytes, report = [], [], [], None, None, None
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="mtcnn_dataset.") as folder:
                os.environ["FER_KERAS_CACHE"] = folder
                if cache_key is None:
                    inside = Path(folder) in landmarks_cache_file(record, default_settings()).parents
                    cache_key = "source CSV (as in training)" if inside else "image digest (the CSV's folder is writable)"
                    if not inside:
                        record.source = ""
                seconds, marks = timed(lambda: landmarks_for_record(record, progress=False))
                if marks.from_cache or not marks.cache_file or Path(folder) not in Path(marks.cache_file).parents:
                    raise SystemExit(f"cold run {run + 1}: expected a fresh detection cached under {folder}, "
                                     f"got from_cache={marks.from_cache}, cache_file={marks.cache_file}")
                cold.append(seconds)
                report, cache_bytes = marks.report, Path(marks.cache_file).stat().st_size
                print(f"cold run {run + 1}/{args.runs}: {n / seconds:.1f} images/s ({seconds:.1f} s)", flush=True)
                # cached reads of the cache this run wrote (one per run, so there are as many as cold runs)
                seconds, again = timed(lambda: landmarks_for_record(record, progress=False))
                if not again.from_cache:
                    raise SystemExit(f"cached run {run + 1}: the landmarks were detected again, not read from the cache")
                cached.append(seconds)
                size = max(record.images.shape[1:3])  # region_inputs: crops at the images' own size
                seconds, _ = timed(lambda: region_crops_for_record(record, again, size))
                regions.append(seconds)
                print(f"cached run {run + 1}/{args.runs}: {n / cached[-1]:.0f} images/s; "
                      f"region crops {n / seconds:.0f} images/s", flush=True)
    finally:
        if saved_cache is None:
            os.environ.pop("FER_KERAS_CACHE", None)
        else:
            os.environ["FER_KERAS_CACHE"] = saved_cache

    def rates(times):
        return {"images_per_second_median": round(n / statistics.median(times), 1),
                "images_per_second_runs": [round(n / t, 1) for t in times],
                "seconds_median": round(statistics.median(times), 4)}

    rows = f"its first {n} images only (--limit)" if limited else f"all {n} images"
    result = {
        "what": f"fer_keras.data.faces.landmarks_for_record (MTCNN, fer_keras defaults) over FER2013 {args.split}, "
                f"{rows} (48x48 grayscale): cold = empty cache, every image detected and the .npz cache written; "
                "cached = that cache read back; region_crops = MrCAR's face, eyes and mouth crops "
                f"(region_crops_for_record at 48 px) from the cached landmarks; median of {args.runs} runs",
        "source": str(args.csv),
        "split": args.split,
        "images": n,
        "limit": args.limit,
        "detection": report,
        "cache_key": cache_key,
        "cache_file_bytes": cache_bytes,
        "cold": rates(cold),
        "cached": rates(cached),
        "region_crops": rates(regions),
        "machine": machine(),
        "command": " ".join(["python", "benchmarks/mtcnn_dataset.py", *argv]),
        "date": date.today().isoformat(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("images", "cold", "cached", "region_crops")}))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
