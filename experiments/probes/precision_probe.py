"""Does a recipe train the same in mixed bfloat16 as in float32 on this CPU?

benchmarks/results/training_precision.json measures the speed (`python
benchmarks/training_precision.py`); issue 15 asks, before a recipe trains in bfloat16 on CPU
(`training.mixed_precision: cpu_bfloat16`), for a short run showing that accuracy holds. This
probe trains the recipe twice at the same budget, from the same seed on the same faces, once per
precision, and logs each epoch's loss terms, training and PublicTest accuracy and the collapse
diagnostics (see experiments/probes/probe.py):

    python experiments/probes/precision_probe.py MODEL [--train-rows 640] [--val-rows 300] [--epochs 5]

Writes experiments/results/<MODEL>_precision_probe.json.
"""

import sys

from probe import main

VARIANTS = {
    "float32": [],
    "mixed_bfloat16 (cpu_bfloat16 on this CPU)": ["training.mixed_precision=cpu_bfloat16"],
}

if __name__ == "__main__":
    from fer_keras.recipes import available_recipes

    models = [name.removesuffix("_fer2013") for name in available_recipes() if name.endswith("_fer2013")]
    if len(sys.argv) < 2 or sys.argv[1] not in models:
        raise SystemExit(f"usage: python experiments/probes/precision_probe.py {{{','.join(models)}}} [probe options]")
    model = sys.argv[1]
    main(model, VARIANTS, f"{model}: float32 against mixed bfloat16 at the same budget.", f"{model}_precision_probe",
         defaults=(640, 300, 5), argv=sys.argv[2:], command=" ".join(["python experiments/probes/precision_probe.py", *sys.argv[1:]]))
