"""Training-step throughput in float32 against mixed_bfloat16, per model and batch size, on this CPU.

CPUs with AMX / AVX-512 BF16 run bfloat16 matrix products natively; whether a whole Keras training
step gets faster depends on the batch (small batches are dominated by per-op overhead and casts).
Each setting builds the model under the dtype policy, compiles it with its recipe's loss and times
`train_on_batch` on random batches (images per second, median over --steps steps after 3 warm-up
steps), without XLA, as the trainer runs on CPU.

    python benchmarks/training_precision.py [--steps 10] [--settings amdcnn_plus,amdcnn] [--batches 64,128,256]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

# model, builder options, input shape and loss of each recipe measured
SETTINGS = {
    "amdcnn_plus": dict(model="amdcnn", options=dict(head="dense"), shape=(44, 44, 1), loss="softmax"),
    "amdcnn": dict(model="amdcnn", options={}, shape=(48, 48, 1), loss="am_softmax"),
}


def cpu_flags():
    try:
        flags = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return []
    return sorted({f for f in ("amx_bf16", "amx_tile", "avx512_bf16") if f in flags})


def throughput(setting, batch, policy, steps):
    """Images per second of one training step (run in a fresh process per setting: the policy is global)."""
    from fer_keras.quiet import import_keras_quietly

    keras = import_keras_quietly()
    from fer_keras.models import build_model
    from fer_keras.models.objectives import make_training_model

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    training = make_training_model(build_model(setting["model"], input_shape=setting["shape"], **setting["options"]),
                                   setting["loss"])
    model = training.model
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss=training.loss, jit_compile=False)
    rng = np.random.default_rng(0)
    images = rng.random((batch, *setting["shape"]), dtype=np.float32)
    y = rng.integers(0, 7, batch)
    targets = {key: y for key in training.loss}
    times = []
    for step in range(steps + 3):
        start = time.perf_counter()
        model.train_on_batch(images, targets)
        if step >= 3:
            times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--batches", default="64,128,256")
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # setting:batch:policy, run in a child process
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/training_precision.json")
    args = parser.parse_args()
    if args.one:
        name, batch, policy = args.one.split(":")
        print(json.dumps(throughput(SETTINGS[name], int(batch), policy, args.steps)))
        return
    rows = []
    for name in args.settings.split(","):
        for batch in map(int, args.batches.split(",")):
            row = {"setting": name, **{k: v for k, v in SETTINGS[name].items() if k != "shape"},
                   "input_shape": list(SETTINGS[name]["shape"]), "batch_size": batch}
            for policy in args.policies.split(","):
                child = subprocess.run([sys.executable, __file__, "--one", f"{name}:{batch}:{policy}", "--steps", str(args.steps)],
                                       capture_output=True, text=True, check=True)
                row[f"{policy}_images_per_second"] = round(json.loads(child.stdout.strip().splitlines()[-1]), 1)
            if "float32_images_per_second" in row and "mixed_bfloat16_images_per_second" in row:
                row["bfloat16_speed_up"] = round(row["mixed_bfloat16_images_per_second"] / row["float32_images_per_second"], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {
        "what": "training-step images/s (train_on_batch on random batches, median over the steps after 3 warm-up "
        "steps, no XLA, SGD momentum) under each Keras dtype policy, one fresh process per cell",
        "results": rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores ({', '.join(cpu_flags()) or 'no AMX/BF16 flags'}), "
        f"no GPU, {platform.python_implementation()} {platform.python_version()}",
        "command": " ".join(["python", "benchmarks/training_precision.py", *sys.argv[1:]]),
        "date": str(date.today()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(temporary, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
