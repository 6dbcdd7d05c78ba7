"""MIFAD-Net: does a softmax warm-up of the angular margin get it past the majority class?

The recipe's ArcFace (s = 30, m = 0.5) from scratch can lower its loss by pulling every feature
and class vector into one direction (issue 15: with all cosines equal to c the loss is 16.2 at
c = 0 and 8.5 at c = 0.976), and the 3-epoch FER2013 run stayed at "happy". The usual remedy is
to start with plain normalised softmax and bring the margin in (`loss.warmup_epochs`, a linear
ramp of m). Keras' BatchNormalization tracks its inference statistics with momentum 0.99
(PyTorch's default is Keras' 0.9): the last two variants ask whether lagging statistics are what
keeps PublicTest at one class while training accuracy rises. ("softmax" here is cross-entropy on
the recipe's scaled-cosine head, s = 30, m = 0.) Variants, at the same budget, with the collapse diagnostics in each epoch's log:

    python experiments/probes/mifad_warmup_probe.py [--train-rows 3000] [--val-rows 1000] [--epochs 4]

Writes experiments/results/mifad_warmup_probe.json (see experiments/probes/probe.py).
"""

from probe import main

VARIANTS = {
    "angular m=0.5 from the start (the recipe)": [],
    "angular, margin ramped in over 2 epochs": ["loss.warmup_epochs=2"],
    "softmax (Table 3's baseline)": ["loss={name: softmax}"],
    "softmax, BN momentum 0.9": ["loss={name: softmax}", "training.bn_momentum=0.9"],
    "angular, margin ramped in over 2 epochs, BN momentum 0.9": ["loss.warmup_epochs=2", "training.bn_momentum=0.9"],
}

if __name__ == "__main__":
    main("mifad_net", VARIANTS, "MIFAD-Net angular-margin warm-up.", "mifad_warmup_probe", defaults=(3000, 1000, 4))
