"""How closely an artefact's probabilities follow the Keras model's (tests/export/test_export.py and
benchmarks/export_parity.py measure exports with it)."""

import numpy as np


def parity(reference, probabilities):
    """How closely `probabilities` follow `reference` ((N, classes) each): top1_agreement (the share
    of samples with the same argmax), max_abs_diff and mean_abs_diff of the probabilities, and
    confident_top1_agreement on the more confident half of the samples (`reference`'s top-1 leads its
    second by at least the median lead, confident_min_lead: a threshold that follows the model's
    sharpness) over confident_samples of them; flipped_max_lead: the largest such lead among the
    samples whose argmax changed (0 when none did), how close the calls were that flipped."""
    reference, probabilities = np.asarray(reference, np.float64), np.asarray(probabilities, np.float64)
    diff = np.abs(reference - probabilities)
    same = reference.argmax(1) == probabilities.argmax(1)
    ordered = np.sort(reference, axis=1)
    lead = ordered[:, -1] - ordered[:, -2]
    confident = lead >= np.median(lead)
    return {
        "top1_agreement": float(same.mean()),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "confident_top1_agreement": float(same[confident].mean()),
        "confident_samples": int(confident.sum()),
        "confident_min_lead": round(float(np.median(lead)), 4),
        "flipped_max_lead": float(lead[~same].max(initial=0.0)),
    }


__all__ = ["parity"]
