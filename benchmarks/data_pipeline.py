"""Input pipeline throughput next to what each model consumes in training, on this machine.

For each registered model's FER2013 setting (its recipe's crop, augmentation and batch size, its
inputs) the tf.data pipeline is run over the real FER2013 Training split for whole epochs (images
per second, median of --runs), and the model's training step is timed on batches of the same shape
(images per second, median over --steps steps after warm-up). The pipeline must be well ahead of
the model.

    python benchmarks/data_pipeline.py [--csv PATH] [--runs 3] [--steps 12] [--models amdcnn,lban,...]

The training step is timed without XLA and with it (`jit_compile=True`), both float32: mixed
precision only pays on a GPU (the trainer turns it on only there).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from fer_keras.quiet import import_keras_quietly
from fer_keras.data.shared import fer2013_csv

DEFAULT_CSV = fer2013_csv()

# Settings beyond the registered models' own (which come from their FER2013 recipes: `settings`).
EXTRA_SETTINGS = {
    "rafdb_100_to_80": dict(
        config=dict(batch_size=64, resize=(100, 100), channels=3, input_size=(80, 80), augmentation=dict(horizontal_flip=True)),
    ),
}
# The recipe's training pipeline keys the benchmark sets (the others, channels and normalisation, are
# FER2013's own and PipelineConfig's defaults).
PIPELINE_KEYS = ("batch_size", "sample_weights", "input_size", "augmentation")


def settings():
    """{setting: dict(config, loss, [regions])}: each registered model (`fer_keras.models.list_models`)
    with its FER2013 recipe's training pipeline (batch, sample weights, crop, augmentation; an
    input_size of the whole 48x48 image is no crop and left out), its paper's loss and, for a model
    of several inputs, its region inputs (MrCAR's); then EXTRA_SETTINGS."""
    from fer_keras.data.datasets import get_dataset_info
    from fer_keras.models import get_model_info, list_models
    from fer_keras.recipes import load_recipe

    side = get_dataset_info("fer2013").face_side
    out = {}
    for name in list_models():
        info, recipe = get_model_info(name), load_recipe(name, "fer2013")
        config = {key: recipe["pipeline"][key] for key in PIPELINE_KEYS if recipe["pipeline"].get(key)}
        if tuple(config.get("input_size") or ()) in ((), (side, side)):
            config.pop("input_size", None)
        out[name] = dict(config=config, loss=info.loss)
        if recipe["data"].get("regions"):
            out[name]["regions"] = tuple(info.inputs)
    return {**out, **EXTRA_SETTINGS}


def pipeline_throughput(record, config, regions, runs):
    from fer_keras.data import make_dataset

    inputs = {name: record.images for name in regions} if regions else None
    dataset = make_dataset(record, config, training=True, inputs=inputs)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        count = sum(int(element[1].shape[0]) for element in dataset)
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates), rates


def training_throughput(name, setting, steps, jit_compile=False):
    keras = import_keras_quietly()
    from fer_keras.models import INPUT_SHAPES, build_model
    from fer_keras.models.objectives import make_training_model, with_labels

    batch = setting["config"]["batch_size"]
    shape = INPUT_SHAPES[name]["fer2013"]
    training = make_training_model(build_model(name), setting["loss"])
    model = training.model
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=training.loss, jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    images = rng.random((batch, *shape), dtype=np.float32)
    x = {r: images for r in setting["regions"]} if "regions" in setting else images
    y = rng.integers(0, 7, batch)
    if training.needs_labels:
        x = with_labels(x, y, model)
    targets = {key: y for key in training.loss}
    times = []
    for step in range(steps + 3):  # 3 warm-up steps (tracing)
        start = time.perf_counter()
        model.train_on_batch(x, targets)
        if step >= 3:
            times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12)
    known = settings()
    parser.add_argument("--models", default=",".join(known))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results/data_pipeline.json")
    args = parser.parse_args()
    import_keras_quietly()
    from fer_keras.data import load_dataset

    record = load_dataset("fer2013", args.csv, split="Training")
    rows = []
    for name in args.models.split(","):
        setting = known[name]
        rate, rates = pipeline_throughput(record, setting["config"], setting.get("regions"), args.runs)
        row = {
            "setting": name,
            "pipeline": setting["config"],
            "inputs": list(setting.get("regions", ["image"])),
            "pipeline_images_per_second_median": round(rate),
            "pipeline_images_per_second_runs": [round(r) for r in rates],
        }
        if "loss" in setting:
            row["model_training_images_per_second"] = round(training_throughput(name, setting, args.steps), 1)
            row["model_training_images_per_second_xla"] = round(training_throughput(name, setting, args.steps, True), 1)
            row["pipeline_over_model"] = round(rate / max(row["model_training_images_per_second"],
                                                          row["model_training_images_per_second_xla"]), 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "what": "tf.data pipeline images/s over the real FER2013 Training split (28,709 images, whole epochs, "
        "training mode: shuffle, crop, augmentation) next to the model's float32 training step images/s "
        "(train_on_batch on batches of the same shape, median over the steps after 3 warm-up steps), "
        "without XLA (jit_compile=False) and with it (_xla)",
        "source": str(args.csv),
        "results": rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU, {platform.python_implementation()} {platform.python_version()}",
        "command": " ".join(["python", "benchmarks/data_pipeline.py", *sys.argv[1:]]),
        "date": str(date.today()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
