"""Training-step throughput in float32 against mixed_bfloat16, per model and batch size, on this CPU.

CPUs with AMX / AVX-512 BF16 run bfloat16 matrix products natively; whether a whole Keras training
step gets faster depends on the batch (small batches are dominated by per-op overhead and casts).
Each setting builds its recipe's model under the dtype policy, compiles it with the recipe's loss and times
`train_on_batch` on random batches (images per second, median over --steps steps after 3 warm-up
steps), without XLA, as the trainer runs on CPU.

    python benchmarks/training_precision.py [--steps 10] [--settings amdcnn_plus,amdcnn,lban,...] [--batches 64,128]
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

from fer_keras.hardware import native_bfloat16_flags

# Recipes measured beyond the registered models' FER2013 ones (fer_keras/recipes/<recipe>.yaml: its model,
# options, input, loss), with their default batches: the recipe's own batch and larger ones.
EXTRA_SETTINGS = {
    "amdcnn_plus": dict(recipe="amdcnn_plus_fer2013", batches=(64, 128, 256)),
}
LARGER_BATCH = 128


def settings():
    """{setting: dict(recipe, batches)}: EXTRA_SETTINGS, then each registered model
    (`fer_keras.models.list_models`) with its <model>_fer2013 recipe at the recipe's batch and
    LARGER_BATCH."""
    from fer_keras.models import list_models
    from fer_keras.recipes import load_recipe

    out = dict(EXTRA_SETTINGS)
    for name in list_models():
        batch = int(load_recipe(name, "fer2013")["pipeline"]["batch_size"])
        out[name] = dict(recipe=f"{name}_fer2013", batches=tuple(sorted({batch, LARGER_BATCH})))
    return out


def throughput(setting, batch, policy, steps):
    """Images per second of one training step (run in a fresh process per setting: the policy is global)."""
    from fer_keras.quiet import import_keras_quietly

    keras = import_keras_quietly()
    from fer_keras.models import build_model
    from fer_keras.models.objectives import make_training_model, with_labels
    from fer_keras.recipes import load_recipe

    recipe = load_recipe(setting["recipe"])
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    section, loss = recipe["model"], {k: v for k, v in recipe["loss"].items() if k != "warmup_epochs"}
    model = build_model(section["name"], input_shape=section["input_shape"], **(section.get("options") or {}))
    training = make_training_model(model, loss.pop("name"), **loss)
    training.model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss=training.loss, jit_compile=False)
    rng = np.random.default_rng(0)
    shape = tuple(section["input_shape"])
    x = {tensor.name: rng.random((batch, *shape), dtype=np.float32) for tensor in model.inputs}
    x = x[model.inputs[0].name] if len(x) == 1 else x
    y = rng.integers(0, 7, batch)
    if training.needs_labels:
        x = with_labels(x, y, model)
    targets = {key: y for key in training.loss}
    times = []
    for step in range(steps + 3):
        start = time.perf_counter()
        training.model.train_on_batch(x, targets)
        if step >= 3:
            times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    known = settings()
    parser.add_argument("--settings", default=",".join(known))
    parser.add_argument("--batches", default=None, help="batch sizes for every setting (default: each setting's own)")
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # setting:batch:policy, run in a child process
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/training_precision.json")
    args = parser.parse_args()
    if args.one:
        name, batch, policy = args.one.split(":")
        print(json.dumps(throughput(known[name], int(batch), policy, args.steps)))
        return
    rows = []
    for name in args.settings.split(","):
        batches = map(int, args.batches.split(",")) if args.batches else known[name]["batches"]
        for batch in batches:
            row = {"setting": name, "recipe": f"fer_keras/recipes/{known[name]['recipe']}.yaml", "batch_size": batch}
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
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores ({', '.join(native_bfloat16_flags()) or 'no AMX/BF16 flags'}), "
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
