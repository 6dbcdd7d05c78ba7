"""Issue 36, item 1: which levers for a better lightweight model to take into a long run, at equal
budget on fer_keras/recipes/amdcnn_plus_fer2013.yaml: random erasing (Zhong et al., "Random Erasing
Data Augmentation", AAAI 2020; pipeline.augmentation.erasing, the probability), an exponential
moving average of the weights (optimizer.ema_momentum: validation, the kept epoch and the saved
weights are the average's), both, or neither; and FERPlus's vote distributions as the Training
rows' targets (data.options.ferplus_targets, fer_keras/recipes/amdcnn_plus_fer2013_ferplus.yaml:
matched by pixels, drawn each epoch by pipeline.label_sampling) blended half with FER2013's label
or alone; mixup (Zhang et al., ICLR 2018; alpha 0.4) and CutMix (Yun et al., ICCV 2019; alpha 1,
half of each batch) with sampled labels (fer_keras.data.mixing); 40x40 crops of the 48x48 faces
instead of 44x44 (more shift; scored single crop, like the others). Selection stays on FER2013
PublicTest labels. A lever is taken into the long run when it beats the full recipe by more than the noise of the 1,500 scored faces (about 1.2 points of
accuracy, one standard error); if both pay alone, the combined variant says whether they add up.

    python experiments/probes/lightweight_levers_probe.py [--train-rows 5000] [--val-rows 1500] [--epochs 40]
    python experiments/probes/lightweight_levers_probe.py --only "full recipe" --only "+ random erasing p=0.5"  # in chunks

Writes experiments/results/lightweight_levers_probe.json (see experiments/probes/probe.py). Both levers
act late, so the budget is longer than amdcnn_plus_probe.py's 5 epochs: random erasing is a
regulariser, which pays once the network starts to memorise (the full FER2013 run did from epoch
~50 of 75); and Keras's average starts from the first step's weights without a bias correction, so
at momentum 0.999 (a horizon of ~1,000 steps) the initial weights keep a share 0.999^steps of it:
0.67 after the 395 steps of 5 epochs of 5,000 faces, 0.04 after the 3,160 steps of 40. Read the EMA
variants only at a budget of several thousand steps. The cosine schedule spans the probe's epochs.
"""

from probe import main

from fer_keras.data.shared import shared_data

ERASING = "pipeline.augmentation.erasing=0.5"
EMA = "optimizer.ema_momentum=0.999"
MIXUP = ["pipeline.augmentation.mix=mixup", "pipeline.augmentation.mix_alpha=0.4"]
CUTMIX = ["pipeline.augmentation.mix=cutmix", "pipeline.augmentation.mix_probability=0.5"]
FERPLUS = [f"data.options.ferplus_targets={shared_data('ferplus')}", "pipeline.label_sampling=true"]

VARIANTS = {
    "full recipe": [],
    "+ random erasing p=0.5": [ERASING],
    "+ EMA 0.999": [EMA],
    "+ random erasing and EMA": [ERASING, EMA],
    "+ FERPlus targets, blend 0.5": FERPLUS + ["data.options.ferplus_targets_weight=0.5"],
    "+ FERPlus targets alone": FERPLUS + ["data.options.ferplus_targets_weight=1.0"],
    "+ mixup alpha=0.4": MIXUP,
    "+ CutMix p=0.5": CUTMIX,
    "40x40 crops": ["model.input_shape=[40, 40, 1]", "pipeline.input_size=[40, 40]"],
}

if __name__ == "__main__":
    main("amdcnn_plus", VARIANTS, "Levers for a better lightweight model (issue 36): random erasing, a weight EMA, "
         "FERPlus's votes as targets, mixup, CutMix and 40x40 crops.",
         "lightweight_levers_probe", defaults=(5000, 1500, 40))
