"""Issue 18: what each ingredient of fer_keras/recipes/amdcnn_plus_fer2013.yaml gives, leave-one-out at equal
budget: the full recipe, and the recipe with one ingredient put back to the AMDCNN paper's choice.

    python experiments/probes/amdcnn_plus_probe.py [--train-rows 5000] [--val-rows 1500] [--epochs 5]

Writes experiments/results/amdcnn_plus_probe.json (see experiments/probes/probe.py). Round 1, with AMDCNN's
own heads in the recipe, is experiments/results/amdcnn_plus_probe_round1.json: the dense heads won. The cosine schedule
spans the probe's epochs. Probe numbers are early-training signals, not final accuracies: the
paper's Adam at 1e-4 in particular starts slowly (issue 15).
"""

from probe import main

VARIANTS = {
    "full recipe": [],
    "Keras' BatchNorm momentum 0.99": ["training.bn_momentum=0.99"],
    "paper's optimiser (Adam 1e-4, constant)": ["optimizer={name: adam, learning_rate: 1.0e-4}", "schedule=null"],
    "paper's heads and loss (cosine heads, AM-Softmax s 30, m 0.35, aux heads 0.3)": [
        "model.options={attention: mcbam, num_aux: 3, head: paper}",
        "loss={name: am_softmax, scale: 30.0, margin: 0.35, aux_weight: 0.3, sample_weights_on: final}"],
    "no label smoothing": ["loss.label_smoothing=0.0"],
    "48x48 input, no random window, single-crop test": [
        "model.input_shape=[48,48,1]", "pipeline.input_size=[48,48]", "pipeline.tta=null"],
    "paper's augmentation (vertical flips, perspective 0.1)": [
        "pipeline.augmentation={horizontal_flip: true, vertical_flip: true, perspective: 0.1}"],
    "balanced class weights": ["pipeline.sample_weights=true"],
    "paper's heads (7-map cosine classifiers)": ["model.options={attention: mcbam, num_aux: 3, head: paper}"],
    # not an ablation: the recipe in bfloat16 (1.27x faster at batch 64 on AMX, benchmarks/results/training_precision.json)
    "mixed_bfloat16": ["training.mixed_precision=mixed_bfloat16"],
}

if __name__ == "__main__":
    main("amdcnn_plus", VARIANTS, "AMDCNN beyond the paper: leave-one-out ablation of the issue 18 recipe.",
         "amdcnn_plus_probe", defaults=(5000, 1500, 5))
