"""LBAN-IL: does PyTorch's default initialisation (the paper's framework) speed up its SGD start?

LBAN-IL's recipe (SGD, lr 1e-3, momentum 0.9) leaves the majority class slowly on full FER2013:
PublicTest 26.5%, 28.9%, 30.6% and training accuracy 0.20, 0.23, 0.245 after 1, 2 and 3 epochs
(experiments/results/lban_fer2013). Under BatchNorm a kernel's effective SGD step scales as
lr / ||w||^2, and Keras' Glorot-uniform kernels have 2 / (fan_in + fan_out) variance against
PyTorch's 1 / (3 fan_in) (nn.Conv2d's kaiming_uniform with a = sqrt(5)): three times larger for a
square 3x3 convolution, so Keras' start takes three times smaller effective steps. Both variants in
mixed bfloat16, the recipe's precision on this CPU:

    python experiments/probes/lban_init_probe.py [--train-rows 4000] [--val-rows 1000] [--epochs 5]

Writes experiments/results/lban_init_probe.json (see experiments/probes/probe.py).

Result (2026-12-03, 4,000 faces, 5 epochs): refuted. Keras' initialisation reached 30.5% PublicTest
with the most-predicted share falling to 0.74; PyTorch's stayed at 26.3% with 99% of faces in one
class and a flat loss, so the recipe keeps Keras' (docs/architectures.md, "Collapse").
"""

from probe import main

BF16 = "training.mixed_precision=cpu_bfloat16"
VARIANTS = {
    "Keras' Glorot-uniform kernels, zero biases (the recipe)": [BF16],
    "PyTorch's default initialisation (training.initialization: pytorch)": [BF16, "training.initialization=pytorch"],
}

if __name__ == "__main__":
    main("lban", VARIANTS, "LBAN-IL initialisation.", "lban_init_probe", defaults=(4000, 1000, 5))
