"""Soft-voting ensembles of trained models (beyond the papers).

The ensemble's class probabilities are the weighted mean of its members' probabilities,
p(y | x) = sum_m w_m p_m(y | x) / sum_m w_m. Each member sees the samples through its own recipe's
evaluation pipeline (input size, channels, normalisation, MrCAR's region crops, its test-time
augmentation), so models with different inputs combine. No weight is fitted on the evaluated split:
the weights are data in the ensemble's config (experiments/ensemble_*.yaml), equal by default.

An ensemble config is YAML:

    ensemble:
      dataset: fer2013
      split: null                      # PrivateTest when the file has it, else PublicTest
      members:
        - {run: runs/amdcnn_fer2013}                   # a training run directory
        - {run: runs/mrcar_fer2013, tta: tencrop}      # tta: none, tencrop (default: the recipe's)
        - {pretrained: amdcnn_fer2013, weight: 1.0}    # bundled weights
"""

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from fer_keras.errors import ArgumentError

MEMBER_KEYS = {"run", "pretrained", "tta", "weight"}


@dataclass
class EnsembleResult:
    """What `evaluate_ensemble` returns: the report (JSON-ready), the ensemble's (N, classes)
    probabilities and the record evaluated."""

    report: dict
    probabilities: np.ndarray
    record: object


def load_ensemble_config(path):
    """The `ensemble` section of the YAML file `path`, checked; errors (ArgumentErrors) name the file
    and the key."""
    path = Path(path)
    if not path.is_file():
        raise ArgumentError("path", path, "no such ensemble config")
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ArgumentError("path", path, f"not valid YAML ({err})") from err
    section = loaded.get("ensemble") if isinstance(loaded, dict) else None
    if not isinstance(section, dict):
        raise ArgumentError("path", path, "expected a mapping with an 'ensemble:' section")
    members = section.get("members")
    if not isinstance(members, list) or not members:
        raise ArgumentError("path", path, "ensemble.members must be a non-empty list of {run: DIR} or {pretrained: NAME}")
    for i, member in enumerate(members):
        where = f"ensemble.members[{i}]"
        if not isinstance(member, dict):
            raise ArgumentError("path", path, f"{where}: expected a mapping such as {{run: runs/amdcnn_fer2013}}, got {member!r}")
        unknown = set(member) - MEMBER_KEYS
        if unknown:
            raise ArgumentError("path", path, f"{where}: unknown key(s) {sorted(unknown)}; expected {sorted(MEMBER_KEYS)}")
        if ("run" in member) == ("pretrained" in member):
            raise ArgumentError("path", path, f"{where}: give exactly one of run: DIR or pretrained: NAME")
        weight = member.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise ArgumentError("path", path, f"{where}: weight must be a positive number, got {weight!r}")
    return {"dataset": section.get("dataset"), "split": section.get("split"), "members": members}


def member_name(member):
    return f"run {member['run']}" if "run" in member else f"pretrained {member['pretrained']}"


def _present(member):
    from fer_keras.run.folder import is_run

    return "pretrained" in member or is_run(member["run"])


def evaluate_ensemble(config, data=None, split=None, batch_size=None, skip_missing=False, log=None):
    """Evaluate each member of `config` (from `load_ensemble_config`) and their soft vote.

    `data` / `split` override the config's; without `data` each member's own run data is used,
    which must then be the same file for all. `skip_missing`: leave out run members whose
    directory holds no run (listed in the report) instead of failing.
    """
    from fer_keras.evaluation import classification_metrics, evaluate_model, load_eval_record
    from fer_keras.loading import default_data, load_trained

    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    members = list(config["members"])
    missing = [m for m in members if not _present(m)]
    if missing and not skip_missing:
        raise ArgumentError(None, problem=f"ensemble member {member_name(missing[0])}: no training run there "
                            "(train it first, or pass `skip_missing=True` to leave it out)")
    members = [m for m in members if _present(m)]
    if not members:
        raise ArgumentError("config", problem="none of its members exists yet")
    split = split if split is not None else config.get("split")
    # Every member's samples are read and compared before any member is evaluated: a member that
    # sees other samples is refused at once, not after the members before it ran.
    loaded, reference, reference_split = [], None, None
    for member in members:
        trained = load_trained(run=member.get("run"), pretrained=member.get("pretrained"))
        record, description = chosen = load_eval_record(trained.recipe, config.get("dataset"),
                                                        default_data(trained, config.get("dataset"), data), split)
        if reference is None:
            reference, reference_split = chosen
        elif (record.class_names != reference.class_names or len(record) != len(reference)
              or not np.array_equal(record.labels, reference.labels)):
            raise ArgumentError(None, problem=f"ensemble member {member_name(member)}: evaluates {len(record)} samples of "
                                f"{record.source} {description}, not the {len(reference)} samples of "
                                f"{reference.source} {reference_split} the first member sees; give `data`")
        loaded.append((member, trained, chosen))
    reports, total = [], None
    for member, trained, chosen in loaded:
        log(f"ensemble: evaluating {member_name(member)} ({trained.name})")
        result = evaluate_model(trained.model, trained.recipe, tta=member.get("tta"), batch_size=batch_size, chosen=chosen)
        weight = float(member.get("weight", 1.0))
        total = weight * result.probabilities if total is None else total + weight * result.probabilities
        reports.append({"member": member_name(member), "model": trained.name, "tta": result.tta or "none",
                        "weight": weight, "accuracy": result.metrics["accuracy"],
                        "macro_f1": result.metrics["macro_f1"]})
    probabilities = total / sum(r["weight"] for r in reports)
    record = reference
    metrics = classification_metrics(record.labels, probabilities, record.class_names)
    best = max(r["accuracy"] for r in reports)
    report = {**metrics, "combine": "weighted mean of member probabilities", "members": reports,
              "skipped_members": [member_name(m) for m in missing], "best_member_accuracy": best,
              "gain_over_best_member": metrics["accuracy"] - best, "dataset": record.name,
              "data": str(record.source), "split": reference_split}
    return EnsembleResult(report, probabilities, record)


__all__ = ["EnsembleResult", "evaluate_ensemble", "load_ensemble_config", "member_name"]
