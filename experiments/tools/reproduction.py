"""experiments/results/reproduction.json and README's reproduction table, from committed results only.

    python experiments/tools/reproduction.py            # rewrite reproduction.json and the README table
    python experiments/tools/reproduction.py --check    # exit 1 when either is stale

Claims: experiments/results/reproduction_claims.yaml. Each claim's numbers come from experiments/results/<results>/:
crossval.json for a k-fold protocol (`fer-keras crossval`, published by experiments/tools/publish.py), else
the single run's metrics.json (FERPlus: accuracy on FER2013Valid, the validation split it was selected
on; FER2013Test is held back). Accuracies are percentages. The cross-dataset rows (the bundled
FER2013 default scored on CK+ and JAFFE) come from experiments/results/cross_dataset.json.
"""

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"
OUT = RESULTS / "reproduction.json"
BEGIN, END = "<!-- reproduction:begin -->", "<!-- reproduction:end -->"
PROTOCOLS = {
    "paper": "paper's protocol",
    "subject_independent": "subject-independent",
    "probability_labels": "paper's recipe, probability labels",
    "cross_dataset": "cross-dataset (trained on FER2013)",
}


def model_title(name):
    """A registered model's title (fer_keras.models' registry: "MIFAD-Net"), else `name` (a pretrained
    entry such as amdcnn_plus_fer2013)."""
    from fer_keras.models import get_model_info, list_models

    return get_model_info(name).title if name in list_models() else name


def dataset_title(name):
    """A registered dataset's title (fer_keras.data.datasets: "CK+"), else `name`."""
    from fer_keras.data.datasets import DATASETS

    return DATASETS[name].title if name in DATASETS else name


def _json(path):
    return json.loads(path.read_text()) if path.is_file() else None


def _percent(value):
    return None if value is None else round(100 * value, 2)


def _command(folder):
    path = folder / "command.txt"
    return path.read_text().strip() if path.is_file() else None


def run_state(folder, epochs_done):
    """A single run's recipe epochs and state, from its committed config.yaml and log.csv: "finished"
    (all the recipe's epochs), "early_stopped" (patience epochs without a better validation accuracy)
    or "in_progress" (a time-limited chunk; `fer-keras train --resume` continues it)."""
    config = yaml.safe_load((folder / "config.yaml").read_text()) if (folder / "config.yaml").is_file() else {}
    training = (config.get("recipe") or config).get("training") or {}
    total, patience = training.get("epochs"), training.get("early_stopping_patience")
    state = "finished" if total and epochs_done >= total else "in_progress"
    log = folder / "log.csv"
    if state == "in_progress" and patience and log.is_file():
        import csv

        rows = list(csv.DictReader(log.open()))
        monitor = next((key for key in (rows[0] if rows else {}) if key.startswith("val_") and key.endswith("accuracy")
                        and "probabilities" in key), None) or "val_accuracy"
        scores = [float(r[monitor]) for r in rows if r.get(monitor) not in (None, "")]
        if scores and len(scores) - 1 - scores.index(max(scores)) >= patience:
            state = "early_stopped"
    return {"epochs_total": total, "state": state}


def claim_row(claim):
    """One reproduction.json row for a claim of experiments/results/reproduction_claims.yaml."""
    folder = RESULTS / claim["results"]
    row = {key: claim[key] for key in ("model", "dataset", "protocol", "paper_accuracy")}
    row.update({"target": claim.get("target"), "where": claim["where"], "recipe": f"fer_keras/recipes/{claim['recipe']}.yaml"})
    cv, single = _json(folder / "crossval.json"), _json(folder / "metrics.json")
    if cv is not None:
        row.update({
            "accuracy_mean": _percent(cv["accuracy_mean"]), "accuracy_std": None if cv["accuracy_std"] is None or cv["folds_run"] < 2 else _percent(cv["accuracy_std"]),
            "folds_run": cv["folds_run"], "folds_total": cv["folds_total"], "epochs": cv["epochs"],
            "per_fold": [{"fold": f["fold"], "accuracy": _percent(f["accuracy"]), "epochs_done": f["epochs_done"],
                          "best_epoch": f["best_epoch"]} for f in cv["folds"] if f["state"] == "done"],
            "protocol_detail": cv["protocol"] + (" (expanded before the split)" if (cv.get("expand") or {}).get("before_split", bool(cv.get("expand"))) else ""),
        })
    elif single is not None:
        row.update({"accuracy_mean": _percent(single["accuracy"]), "accuracy_std": None, "folds_run": None,
                    "folds_total": None, "epochs": single["epochs_done"], "split": single.get("selected_on")})
        row.update(run_state(folder, single["epochs_done"]))
    else:
        row.update({"accuracy_mean": None, "accuracy_std": None, "folds_run": 0, "folds_total": None, "epochs": None})
    row.update({"command": _command(folder), "run": f"experiments/results/{claim['results']}" if folder.is_dir() else None})
    if row["accuracy_mean"] is not None and claim.get("target") is not None:
        row["reaches_target"] = row["accuracy_mean"] >= claim["target"]
    return row


def cross_dataset_rows():
    data = _json(RESULTS / "cross_dataset.json")
    rows = []
    for entry in (data or {}).get("rows", data if isinstance(data, list) else []):
        rows.append({
            "model": entry["model"], "dataset": entry["dataset"], "protocol": "cross_dataset", "paper_accuracy": None,
            "accuracy_mean": _percent(entry["accuracy"]), "accuracy_std": None, "folds_run": None, "folds_total": None,
            "epochs": None, "tta": entry.get("tta"), "samples": entry.get("samples"), "command": entry.get("command"),
            "run": "experiments/results/cross_dataset.json",
        })
    return rows


def build():
    claims = yaml.safe_load((RESULTS / "reproduction_claims.yaml").read_text())["claims"]
    return [claim_row(claim) for claim in claims] + cross_dataset_rows()


def _cell(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def table(rows):
    lines = ["| model | dataset | protocol | paper | ours (mean ± std) | folds run | epochs (per fold) | target met |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ours = "not run yet" if r["accuracy_mean"] is None else (
            _cell(r["accuracy_mean"]) + ("" if r["accuracy_std"] is None else f" ± {_cell(r['accuracy_std'])}"))
        folds = "–" if r["folds_total"] is None else f"{r['folds_run']} of {r['folds_total']}"
        done = [f["epochs_done"] for f in r.get("per_fold") or []]
        epochs = r["epochs"] or "–"
        if done:  # early stopping may end a fold before the recipe's epochs
            epochs = f"{min(done)}{'' if min(done) == max(done) else f'-{max(done)}'} of {r['epochs']}"
        elif r.get("epochs_total"):
            epochs = f"{r['epochs']} of {r['epochs_total']}" + (", in progress" if r.get("state") == "in_progress" else "")
        met = {True: "yes", False: "**no**"}.get(r.get("reaches_target"), "–")
        if r.get("reaches_target") is False and r.get("state") == "in_progress":
            met = "not yet"
        if r.get("target") is not None:
            met += f" (≥ {r['target']})"
        name = model_title(r["model"])
        protocol = PROTOCOLS[r["protocol"]] + (f", {'single crop' if r['tta'] in (None, 'none') else r['tta']}" if r["protocol"] == "cross_dataset" else "")
        lines.append(f"| {name} | {dataset_title(r['dataset'])} | {protocol} | "
                     f"{_cell(r['paper_accuracy'])} | {ours} | {folds} | {epochs} | {met} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when reproduction.json or README's table is stale")
    args = parser.parse_args(argv)
    rows = build()
    text = json.dumps(rows, indent=2) + "\n"
    readme = ROOT / "README.md"
    content = readme.read_text()
    if BEGIN not in content or END not in content:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} section")
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{table(rows)}\n{END}{tail}"
    if args.check:
        stale = [p for p, want in ((OUT, text), (readme, new)) if not p.is_file() or p.read_text() != want]
        if stale:
            print(f"stale: {', '.join(str(p.relative_to(ROOT)) for p in stale)}; run python experiments/tools/reproduction.py")
            return 1
        return 0
    OUT.write_text(text)
    readme.write_text(new)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(rows)} rows) and README's reproduction table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
