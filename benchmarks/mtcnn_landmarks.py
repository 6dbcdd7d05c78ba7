"""MTCNN landmarks on real FER2013 Training rows: detection rate, time per image (cold), and the
cached re-read, with fer_keras.data.faces' defaults and with mtcnn's own settings.

    python benchmarks/mtcnn_landmarks.py [--csv PATH] [--rows 2000] [--out benchmarks/results/mtcnn_landmarks.json]
"""

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path
from fer_keras.data.shared import fer2013_csv

DEFAULT_CSV = fer2013_csv()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/mtcnn_landmarks.json")
    args = parser.parse_args()
    from fer_keras.data import load_dataset
    from fer_keras.data.faces import detect_landmarks, landmarks_for_record

    record = load_dataset("fer2013", args.csv, split="Training").subset(range(args.rows))
    detect_landmarks(record.images[:16], progress=False)  # warm-up: loads the networks
    rows = []
    for name, options in [
        ("fer_keras defaults (black border 15%, thresholds 0.5/0.6/0.7)", {}),
        ("mtcnn's own settings (no border, thresholds 0.6/0.7/0.8)", {"pad": 0.0, "thresholds": (0.6, 0.7, 0.8)}),
    ]:
        start = time.perf_counter()
        marks = detect_landmarks(record.images, progress=False, **options)
        seconds = time.perf_counter() - start
        rows.append({"settings": name, **marks.report, "ms_per_image": round(1000 * seconds / len(record), 2)})
        print(json.dumps(rows[-1]), flush=True)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FER_KERAS_CACHE"] = cache
        record.source = ""  # keyed by the images' digest, cached under FER_KERAS_CACHE
        start = time.perf_counter()
        landmarks_for_record(record, progress=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        cached = landmarks_for_record(record, progress=False)
        warm = time.perf_counter() - start
    result = {
        "what": f"MTCNN (mtcnn package, batch API) on FER2013 Training rows 0-{args.rows - 1}, 48x48 grayscale",
        "source": str(args.csv),
        "detection": rows,
        "landmarks_for_record_seconds": {"cold": round(cold, 2), "cached": round(warm, 3), "from_cache": cached.from_cache},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU, {platform.python_implementation()} {platform.python_version()}",
        "command": "python benchmarks/mtcnn_landmarks.py",
        "date": str(date.today()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
