"""AMDCNN: is the gap to the paper's 69.82% epochs alone, or also our readings of the recipe?

Both faithful runs (experiments/results/amdcnn_fer2013_run1, amdcnn_fer2013) plateau at 54-57% PublicTest from
about epoch 45 while training accuracy keeps climbing (issue 15). Two of the recipe's values are
readings, not the paper's words: the margin m = 0.35 (the paper gives none; AM-Softmax's default)
and random vertical flips (the paper lists them; half the training faces are then upside down,
none of the test faces are). Variants of fer_keras/recipes/amdcnn_fer2013.yaml at the same budget:

    python experiments/probes/amdcnn_gap_probe.py [--train-rows 28709] [--val-rows 3589] [--epochs 40]

The question is about where a run ends, not how it starts, so it needs full Training and tens of
epochs: about 2 hours a variant on this 2-core CPU (40 epochs of ~3 minutes), minutes on a lent GPU
(`bash experiments/device/probe.sh amdcnn_gap_probe --epochs 40 --only ...`, one variant a call).
Writes experiments/results/amdcnn_gap_probe.json (see experiments/probes/probe.py).
"""

from probe import main

VARIANTS = {
    "recipe (m 0.35, vertical flips)": [],
    "margin 0.1": ["loss.margin=0.1"],
    "no vertical flips": ["pipeline.augmentation={horizontal_flip: true, vertical_flip: false, perspective: 0.1}"],
}

if __name__ == "__main__":
    main("amdcnn", VARIANTS, "AMDCNN's margin and vertical flips, where the run ends.", "amdcnn_gap_probe",
         defaults=(28709, 3589, 40))
