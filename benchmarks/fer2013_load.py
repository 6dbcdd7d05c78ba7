"""Time FER2013 CSV loading: a cold parse (cache off) and a cached load; median of several runs.

    python benchmarks/fer2013_load.py [--csv PATH] [--runs 3] [--out benchmarks/results/fer2013_load.json]
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from fer_keras.data import load_dataset
from fer_keras.data.shared import fer2013_csv

DEFAULT_CSV = fer2013_csv()


def timed(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/fer2013_load.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FER_KERAS_CACHE"] = cache
        cold, cold_all = timed(lambda: load_dataset("fer2013", args.csv, cache=False), args.runs)
        rows = len(load_dataset("fer2013", args.csv))  # writes the cache
        warm, warm_all = timed(lambda: load_dataset("fer2013", args.csv), args.runs)
    result = {
        "what": "fer_keras.data.load_dataset('fer2013', PATH): all rows, 48x48 uint8",
        "source": str(args.csv),
        "rows": rows,
        "cold_parse_seconds_median": round(cold, 3),
        "cold_parse_seconds_runs": [round(t, 3) for t in cold_all],
        "cached_load_seconds_median": round(warm, 4),
        "cached_load_seconds_runs": [round(t, 4) for t in warm_all],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_implementation()} {platform.python_version()}",
        "command": "python benchmarks/fer2013_load.py",
        "date": date.today().isoformat(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
