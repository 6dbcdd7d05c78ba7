"""MIFAD-Net: which scale s and margin m keep its angular distance loss from collapsing?

The paper's eq. (angular distance loss) names s and m but gives neither. With ArcFace's s = 30,
m = 0.5, BN momentum 0.9 and the margin ramped in over 5 epochs, the first 20-epoch FER2013 run
(runs/mifad_net_fer2013, the learning check) reached 52.0% PublicTest at epoch 3 (m = 0.2), then
collapsed at m = 0.3: training accuracy 0.50 -> 0.30 -> 0.14, every cosine equal (spread 0.013).
With all cosines equal to c -> 1 the loss is log(1 + 6 e^{s (1 - cos m)}): 2.5 at m = 0.2 and 3.2
at m = 0.3 for s = 30, below the 5.1 the learning model had at m = 0.2, because at s = 30 every
misclassified face (half of them) costs about s times its cosine gap. A smaller s lowers what a
wrong answer costs (NormFace: s of 5-10 is enough for 7 classes to reach probabilities near 1);
a smaller m raises the collapsed state's loss less. Variants, at the same budget, margin ramped in
over 2 epochs, BN momentum 0.9 (the recipe's):

    python experiments/probes/mifad_scale_probe.py [--train-rows 3000] [--val-rows 1000] [--epochs 6]

Writes experiments/results/mifad_scale_probe.json (see experiments/probes/probe.py).
"""

from probe import main

RAMP = "loss.warmup_epochs=2"
VARIANTS = {
    "s 30, m 0.5 (ArcFace's values)": [RAMP],
    "s 10, m 0.5": [RAMP, "loss.scale=10.0"],
    "s 30, m 0.2": [RAMP, "loss.margin=0.2"],
    "s 10, m 0.2": [RAMP, "loss.scale=10.0", "loss.margin=0.2"],
}

if __name__ == "__main__":
    main("mifad_net", VARIANTS, "MIFAD-Net angular distance loss: scale and margin.", "mifad_scale_probe",
         defaults=(3000, 1000, 6))
