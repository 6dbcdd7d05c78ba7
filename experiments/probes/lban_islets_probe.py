"""LBAN-IL: what keeps it at the majority class, the islets term or the weight decay?

At initialisation the islets term (lambda = 0.6) is about 27 against a cross-entropy of 2.7 on a
FER2013 batch (the centres start near 0, so the centre term is about 0.3 ||x||^2), and its
gradient on the 128-d features is several times cross-entropy's (issue 15): the loss falls by
shrinking the features. And the paper's "weight decay 0.05" is PyTorch's coupled L2 (the paper
is implemented in PyTorch), about 1,000 times stronger than the 5e-4 decoupled decay the recipe
read it as, and PyTorch's BatchNorm momentum (0.1) is Keras' 0.9, not Keras' default 0.99 (which
kept MIFAD-Net's PublicTest predictions at one class: experiments/probes/mifad_warmup_probe.py). Variants,
at the same budget, with the collapse diagnostics in each epoch's log:

    python experiments/probes/lban_islets_probe.py [--train-rows 2000] [--val-rows 1000] [--epochs 5]

The second question, whether the network can fit anything under each loss, is the same script on
256 faces (4 steps an epoch) for 20 epochs, training accuracy being the measure:

    python experiments/probes/lban_islets_probe.py --train-rows 256 --val-rows 300 --epochs 20 \
        --only ... --out experiments/results/lban_islets_fit_probe.json

Writes experiments/results/lban_islets_probe.json (see experiments/probes/probe.py).
"""

from probe import main

PYTORCH_SGD = "optimizer={name: sgd, learning_rate: 0.001, momentum: 0.9, l2: 0.05}"
# The recipe as first read: the centre term as the papers' half sum, Keras' BN momentum (0.99).
# The recipe now averages it over the features and uses BN momentum 0.9 (the last variant), so the
# variants name their settings explicitly; "(the recipe)" in the first name is the first reading.
HALF_SUM = "loss.feature_reduction=half_sum"
FIRST_READING = [HALF_SUM, "training.bn_momentum=null"]
VARIANTS = {
    "islets lambda 0.6 from the start, decoupled 5e-4, BN momentum 0.99 (the recipe)": FIRST_READING,
    "lambda ramped in over 2 epochs, BN momentum 0.9": [HALF_SUM, "loss.warmup_epochs=2", "training.bn_momentum=0.9"],
    "ramped lambda, BN momentum 0.9, PyTorch coupled L2 0.05": [HALF_SUM, "loss.warmup_epochs=2", "training.bn_momentum=0.9",
                                                                PYTORCH_SGD],
    "softmax only (lambda 0): the control": [*FIRST_READING, "loss.loss_weight=0.0"],
    "centre term averaged over the 128 features (PyTorch MSELoss)": ["training.bn_momentum=null"],
    "centre term averaged over the features, BN momentum 0.9": [],
}

if __name__ == "__main__":
    main("lban", VARIANTS, "LBAN-IL islets-term warm-up and coupled L2.", "lban_islets_probe", defaults=(2000, 1000, 5))
