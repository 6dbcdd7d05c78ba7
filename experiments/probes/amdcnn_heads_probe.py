"""AMDCNN: how much should the auxiliary heads weigh, and which losses take the balanced weights?

The paper (AMDCNN §III-E, §IV-C) trains every classifier with AM-Softmax and fuses them (AWFM),
but gives neither the heads' loss weights nor which losses the `compute_sample_weight` weights
apply to. Our first reading (every loss weight 1, sample weights on all five) left ACM1 unlearned
and the run memorising (issue 15). Variants, at the same budget:

    python experiments/probes/amdcnn_heads_probe.py [--train-rows 8000] [--val-rows 1500] [--epochs 6]

Writes experiments/results/amdcnn_heads_probe.json (see experiments/probes/probe.py).
"""

from probe import main

VARIANTS = {
    "recipe (heads 1, weights on all)": [],
    "aux heads 0.3, weights on all": ["loss.aux_weight=0.3"],
    "aux heads 0.3, weights on main + fused": ["loss.aux_weight=0.3", "loss.sample_weights_on=final"],
}

if __name__ == "__main__":
    main("amdcnn", VARIANTS, "AMDCNN auxiliary-head loss weights and sample-weight scope.", "amdcnn_heads_probe",
         defaults=(8000, 1500, 6))
