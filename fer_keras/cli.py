"""The `fer-keras` command line.

    fer-keras --version
    fer-keras layers [--json]                                list the reusable layers and losses
    fer-keras summary MODEL [--input-shape H,W,C] [--json]   layers, parameters, MACs and FLOPs
    fer-keras recipes [--json]                               the training recipes that ship (and ./experiments' own)
    fer-keras train MODEL [--dataset D] [--data PATH] [--epochs N] [--out RUN] [--set k=v ...]
    fer-keras train --resume RUN [--set training.time_limit_minutes=N] [--allow-recipe-change]   continue a run
    fer-keras crossval RECIPE --data PATH [--out DIR] [--folds 0-2] [--set k=v ...] [--time-limit-minutes N]
                       k-fold cross-validation (CK+, JAFFE): a run per fold, DIR/crossval.json
    fer-keras evaluate (--run RUN | --pretrained NAME | --model NAME --weights FILE) [--dataset D] [--data PATH] [--split S]
                       [--tta none|tencrop] [--json] [--out DIR]   metrics of a trained model on a split
    fer-keras ensemble CONFIG [--data PATH] [--split S] [--skip-missing] [--json] [--out DIR]
                       soft vote of trained models (experiments/ensemble_*.yaml)
    fer-keras predict INPUT... [--run RUN | --pretrained NAME | --model NAME --weights FILE] [--json] [--out DIR [--overwrite]]
                       [--batch-size N] [--every N]             emotions of every face in images / videos
    fer-keras explain (--run RUN | --pretrained NAME | --model NAME --weights FILE) [--dataset D] [--data PATH] [--split S]
                       [--samples N] [--tsne-samples N] [--layer NAME] --out DIR   Grad-CAM and t-SNE PNGs
    fer-keras export (--run RUN | --pretrained NAME | --model NAME --weights FILE) --format savedmodel|tflite|onnx
                       [--quantize float16|int8] [--calibration-data PATH] [--calibration-samples N] --out PATH [--overwrite] [--json]

Errors: the library raises `fer_keras.errors` exceptions that name its Python arguments; `main`
is the one place that turns them into a line naming the flag (`error_message`) and exit code 2
(130 for Ctrl-C). Any other exception is a bug and keeps its traceback. `predict` exits 1 when some
of its inputs failed (each named) and the others were analysed: a per-file result, not a failure.

Size: over 400 lines because the parser of every command and the one error boundary belong in one
place; each command's body is a few lines that call the library (training, evaluation, predict,
explain, export, ensemble), where the work is.
"""

import argparse
import json
import os
import re
import sys

from fer_keras import __version__
from fer_keras.errors import NO_VALUE, ArgumentError, FerKerasError


def _quiet_tensorflow():
    from fer_keras.quiet import import_keras_quietly

    import_keras_quietly()


class _RegisteredModels:
    """argparse choices read from the model registry when they are first needed (validating a
    value, printing help), so that building the parser imports no Keras."""

    def _names(self):
        _quiet_tensorflow()
        from fer_keras.models.registry import list_models

        return list_models()

    def __contains__(self, name):
        return name in self._names()

    def __iter__(self):
        return iter(self._names())


def _first_line(obj):
    doc = (obj.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def cmd_layers(args):
    _quiet_tensorflow()
    import fer_keras.layers as layers
    import fer_keras.losses as losses

    rows = [("fer_keras.layers", name, _first_line(getattr(layers, name))) for name in layers.__all__]
    rows += [("fer_keras.losses", name, _first_line(getattr(losses, name))) for name in losses.__all__]
    if args.json:
        print(json.dumps([{"module": m, "name": n, "summary": s} for m, n, s in rows], indent=2))
    else:
        width = max(len(n) for _, n, _ in rows)
        for module, name, summary in rows:
            print(f"{module:<17} {name:<{width}}  {summary}")
    return 0


def _parse_shape(text):
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected H,W,C (three positive integers), got {text!r}")
    return shape


def _parse_option(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    import yaml

    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value is not a plain YAML value") from None


def cmd_summary(args):
    _quiet_tensorflow()
    from fer_keras.models import build_model, complexity, layer_table

    try:
        model = build_model(args.model, input_shape=args.input_shape, num_classes=args.num_classes, **dict(args.option))
    except ValueError as err:  # not the builders' option checks (ArgumentError): e.g. too small an input
        if isinstance(err, FerKerasError):
            raise
        print(f"fer-keras summary: {err}", file=sys.stderr)
        return 2
    counts = complexity(model)
    if args.json:
        report = {"model": args.model, "input_shape": list(model.inputs[0].shape[1:]), "options": dict(args.option), **counts}
        print(json.dumps(report, indent=2))
        return 0
    rows = layer_table(model)
    width = max(len(r["name"]) for r in rows)
    print(f"{'layer':<{width}}  {'class':<26} {'output shape':<22} {'params':>10} {'MACs':>14}")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['class']:<26} {str(r['output_shape']):<22} {r['params']:>10,} {r['macs']:>14,}")
    print()
    print(f"model {args.model}, input {tuple(model.inputs[0].shape[1:])}")
    print(f"parameters: total {counts['params_total']:,}, trainable {counts['params_trainable']:,}, "
          f"fixed (LBC filters) {counts['params_fixed']:,}")
    print(f"compute per image: {counts['macs'] / 1e6:,.2f} M multiply-accumulates (MACs) = "
          f"{counts['flops'] / 1e6:,.2f} M FLOPs (2 x MACs)")
    return 0


def cmd_recipes(args):
    from fer_keras.recipes import recipe_catalog

    entries = recipe_catalog()
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    width = max((len(e["name"]) for e in entries), default=0)
    for entry in entries:
        where = "" if entry["source"] == "package" else f"  [{entry['source']}]"
        print(f"{entry['name']:<{width}}  {entry['summary']}{where}")
    return 0


def cmd_train(args):
    _quiet_tensorflow()
    from fer_keras.models.registry import list_models
    from fer_keras.recipes import load_recipe
    from fer_keras.run.folder import check_resume_model, is_run
    from fer_keras.training import train

    out = None
    try:
        time_limit = None
        if args.allow_recipe_change and not args.resume:
            raise FerKerasError("--allow-recipe-change applies to --resume RUN only")
        if args.resume:
            recipe, data, out = None, None, args.resume
            if args.model or args.dataset:  # only the run's own model (or a recipe of it) may be named
                check_resume_model(args.resume, args.model, args.dataset)
            for item in args.set + (["--epochs"] if args.epochs else []):  # the recipe is the run's own
                key, _, value = item.partition("=")
                if key.strip() != "training.time_limit_minutes":
                    raise FerKerasError(f"--resume continues the run's own recipe; only --set training.time_limit_minutes=N "
                                        f"may change, not {item!r}")
                try:
                    time_limit = float(value)
                except ValueError:
                    raise FerKerasError(f"--set {item}: expected a number of minutes") from None
        else:
            if not args.model:
                raise FerKerasError(f"give a MODEL ({', '.join(list_models())}), a recipe name or file, or --resume RUN")
            overrides = list(args.set) + ([f"training.epochs={args.epochs}"] if args.epochs else [])
            recipe = load_recipe(args.model, args.dataset, overrides)
            data, out = args.data, args.out or f"runs/{recipe['model']['name']}_{recipe['data']['dataset']}"
        metrics = train(recipe, data=data, out=out, resume=bool(args.resume), verbose=args.verbose,
                        time_limit_minutes=time_limit, allow_recipe_change=args.allow_recipe_change)
    except KeyboardInterrupt:
        done = out is not None and is_run(out)
        print(f"fer-keras train: interrupted{f'; continue with: fer-keras train --resume {out}' if done else ''}",
              file=sys.stderr)
        return 130
    print(json.dumps({"run": str(out), "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                      "epochs_done": metrics["epochs_done"]}))
    return 0


def _parse_folds(text):
    indices = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            indices += list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected fold indices such as 0-2 or 0,3, got {text!r}") from None
    return indices


def cmd_crossval(args):
    _quiet_tensorflow()
    from fer_keras.crossval import cross_validate
    from fer_keras.recipes import load_recipe

    recipe = load_recipe(args.model, args.dataset, list(args.set))
    name = args.model if args.dataset is None else f"{recipe['model']['name']}_{recipe['data']['dataset']}"
    out = args.out or f"runs/{os.path.splitext(os.path.basename(name))[0]}_cv"
    try:
        summary = cross_validate(recipe, args.data, out, folds=args.folds, time_limit_minutes=args.time_limit_minutes,
                                 verbose=args.verbose)
    except KeyboardInterrupt:
        print(f"fer-keras crossval: interrupted; continue with the same command", file=sys.stderr)
        return 130
    print(json.dumps({key: summary[key] for key in ("model", "dataset", "protocol", "folds_run", "folds_total",
                                                     "accuracy_mean", "accuracy_std")} | {"out": str(out)}))
    return 0


def _trained(args):
    """The model the evaluate / explain / export arguments name (ArgumentError otherwise; predict's
    is `fer_keras.predict.load_classifier`'s)."""
    from fer_keras.loading import load_trained

    return load_trained(run=args.run, model=args.model, weights=args.weights, dataset=getattr(args, "dataset", None),
                        recipe=args.recipe, overrides=list(args.set), pretrained=args.pretrained)


def _model_command(body):
    """A command that loads a model: Keras imported quietly, and without Keras' warnings about a
    finite tf.data pipeline or a split missing some classes. Its errors go to `main`'s boundary."""

    def run(args):
        import warnings

        _quiet_tensorflow()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
            return body(args)

    return run


def _summary_lines(metrics):
    support = [sum(row) for row in metrics["confusion_matrix"]]
    per_class = ", ".join(f"{name} {acc:.3f}" for (name, acc), n in zip(metrics["per_class_accuracy"].items(), support) if n)
    return [f"accuracy {metrics['accuracy']:.4f}   balanced accuracy {metrics['balanced_accuracy']:.4f}   "
            f"macro F1 {metrics['macro_f1']:.4f}   mean class accuracy {metrics['mean_class_accuracy']:.4f}",
            f"per-class accuracy: {per_class}"]


@_model_command
def cmd_evaluate(args):
    import contextlib

    from fer_keras.evaluation import evaluate_model
    from fer_keras.loading import default_data
    from fer_keras.run.report import check_report_out, write_report

    check_report_out(args.out)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the report only
        trained = _trained(args)
        result = evaluate_model(trained.model, trained.recipe, dataset=args.dataset,
                                data=default_data(trained, args.dataset, args.data),
                                split=args.split, tta=args.tta, batch_size=args.batch_size)
    metrics, record = result.metrics, result.record
    report = {**metrics, "model": trained.name, "source": trained.source, "dataset": record.name,
              "data": str(record.source), "split": result.split, "tta": result.tta or "none"}
    if args.out:
        write_report(args.out, report, result.probabilities, record, f"{trained.name} on {record.name} {result.split}")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{trained.name} ({trained.source}) on {record.name} {result.split}: {metrics['samples']} samples, "
          f"test-time augmentation {result.tta or 'none'}")
    print("\n".join(_summary_lines(metrics)))
    if args.out:
        print(f"wrote {args.out}/metrics.json, confusion_matrix.png, predictions.csv")
    return 0


@_model_command
def cmd_ensemble(args):
    import contextlib

    from fer_keras.ensemble import evaluate_ensemble, load_ensemble_config
    from fer_keras.run.record import invoked_command
    from fer_keras.run.report import check_report_out, write_report

    check_report_out(args.out)
    config = load_ensemble_config(args.config)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the report only
        result = evaluate_ensemble(config, data=args.data, split=args.split, batch_size=args.batch_size,
                                   skip_missing=args.skip_missing)
    report = {**result.report, "config": str(args.config), "command": invoked_command()}
    if args.out:
        write_report(args.out, report, result.probabilities, result.record,
                          f"ensemble of {len(report['members'])} on {report['dataset']} {report['split']}")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"ensemble {args.config} on {report['dataset']} {report['split']}: {report['samples']} samples")
    for member in report["members"]:
        print(f"  {member['member']} ({member['model']}, tta {member['tta']}, weight {member['weight']:g}): "
              f"accuracy {member['accuracy']:.4f}, macro F1 {member['macro_f1']:.4f}")
    for skipped in report["skipped_members"]:
        print(f"  {skipped}: skipped (no run there)")
    print("\n".join(_summary_lines(report)))
    print(f"gain over the best member: {100 * report['gain_over_best_member']:+.2f} points")
    if args.out:
        print(f"wrote {args.out}/metrics.json, confusion_matrix.png, predictions.csv")
    return 0


def cmd_predict(args):
    """Not a `_model_command`: a bundled model runs with LiteRT, and TensorFlow is imported only for
    the Keras path (`load_classifier`: --run, --weights, or no ai-edge-litert)."""
    import contextlib
    import warnings

    from fer_keras.predict import FacePredictor, check_out, format_entry, load_classifier, predict_paths

    def show(entry):
        for line in format_entry(entry):
            print(line, flush=True)

    check_out(args.inputs, args.out, args.overwrite)  # before loading the model
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")  # Keras' predict on a finite pipeline
        classifier = load_classifier(pretrained=args.pretrained, run=args.run, model=args.model, weights=args.weights,
                                     recipe=args.recipe, overrides=list(args.set))
        options = {} if args.min_confidence is None else {"min_confidence": args.min_confidence}
        predictor = FacePredictor(classifier, batch_size=args.batch_size, tta=args.tta, detector=args.detector,
                                  detector_options=options)
        entries = predict_paths(predictor, args.inputs, out=args.out, every=args.every,
                                emit=None if args.json else show, overwrite=args.overwrite,
                                progress=True, keep_frames=args.json)  # a long video: a progress line, flat memory
    if args.json:
        print(json.dumps(entries, indent=2))
    failed = [e for e in entries if "error" in e]
    if args.json:
        for entry in failed:
            print(f"fer-keras predict: {entry['file']}: {entry['error']}", file=sys.stderr)
    return 1 if failed else 0  # some inputs failed, each named; the others were analysed (docs/reliability.md, "Errors and exit codes")


@_model_command
def cmd_explain(args):
    import contextlib

    from fer_keras.explain import explain

    with contextlib.redirect_stdout(sys.stderr):
        trained = _trained(args)
        summary = explain(trained, dataset=args.dataset, data=args.data, split=args.split, out=args.out,
                          samples=args.samples, tsne_samples=args.tsne_samples, layer=args.layer,
                          batch_size=args.batch_size, seed=args.seed)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"Grad-CAM of {summary['samples']} {summary['dataset']} samples ({summary['split']}) at layer "
          f"{summary['layer']}: {summary['grad_cam']}")
    if "tsne" in summary:
        print(f"t-SNE of {summary['tsne_samples']} samples' {summary['feature_dim']}-d features "
              f"({summary['features']}): {summary['tsne']}")
    return 0


@_model_command
def cmd_export(args):
    import contextlib

    from fer_keras.export import check_arguments, check_out, export_model

    calibration_given = args.calibration_data is not None or args.calibration_samples is not None
    check_arguments(args.format, args.quantize, True if calibration_given else None)  # before loading the model
    check_out(args.out, args.format, args.overwrite)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the report only
        trained = _trained(args)
        path, details = export_model(trained, args.format, args.out, quantize=args.quantize,
                                     calibration=args.calibration_data, calibration_samples=args.calibration_samples,
                                     overwrite=args.overwrite)
    if args.json:
        print(json.dumps(details, indent=2))
        return 0
    inputs = ", ".join(f"{name} {tuple(shape)}" for name, shape in details["inputs"].items())
    print(f"wrote {path}: {trained.name} ({trained.source}) as {args.format}"
          f"{' ' + args.quantize if args.quantize else ''}, {details['size_bytes'] / 1e6:.2f} MB")
    print(f"input {inputs} float32 in {details['input_range'].split(':')[0]} -> output 'probabilities' over "
          f"{', '.join(details['class_names'])}")
    if "calibration" in details:
        where = details["calibration"]
        print(f"int8 calibrated on {where['samples']} {where['split']} images of {where['data']}; "
              f"{details['int8_ops']} of {details['ops']} ops int8, float32: {', '.join(details['float_layers']) or 'none'}")
    return 0


def _number(kind, low, high, expected):
    """An argparse type: `kind`(text) within [low, high], else an error saying `expected`."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 1, None, "a positive integer")
_fraction = _number(float, 0.0, 1.0, "a number in [0, 1]")
_count = _number(int, 0, None, "an integer >= 0")


def _add_model_source(p, dataset_recipe):
    group = p.add_argument_group("model (one of)")
    group.add_argument("--run", default=None, help="a run directory from `fer-keras train` (best.keras and its recipe)")
    group.add_argument("--pretrained", default=None, metavar="NAME",
                       help="weights shipped in the package, trained on FER2013 Training: amdcnn_plus_fer2013 (AMDCNN "
                       "with the lightweight recipe; predict's default) or amdcnn_fer2013 (AMDCNN, the paper's recipe)")
    group.add_argument("--model", default=None, choices=_RegisteredModels(), metavar="NAME",
                       help="a model name (%(choices)s), with --weights")
    group.add_argument("--weights", default=None, metavar="FILE",
                       help="the model's weights: a .keras model file or a .weights.h5 file (built from its recipe)")
    group.add_argument("--recipe", default=None, help="with --weights: the recipe (name or .yaml) the weights were "
                       f"trained with (default: {dataset_recipe})")
    group.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="with --weights: override a recipe value, e.g. --set model.options.num_aux=1 (repeatable)")


def _add_data(p):
    p.add_argument("--dataset", default=None, help="the dataset (default: the recipe's)")
    p.add_argument("--data", default=None, help="the dataset's file or folder (default: the run's, else the bundled "
                   "FER2013 sample)")
    p.add_argument("--split", default=None, help="a split of the dataset, or 'all' (default: the recipe's test split "
                   "when the file has it, else its validation split; FER2013: PrivateTest, else PublicTest)")
    p.add_argument("--batch-size", type=_positive_int, default=None, help="images per model call (default: the recipe's)")


def build_parser():
    parser = argparse.ArgumentParser(prog="fer-keras", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fer_keras {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("layers", help="list the reusable layers and losses")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("summary", help="layer table, parameters, MACs and FLOPs of a model")
    p.add_argument("model", choices=_RegisteredModels(), metavar="MODEL", help="a model name: %(choices)s")
    p.add_argument("--input-shape", type=_parse_shape, default=None, help="H,W,C (default: the paper's FER2013 input)")
    p.add_argument("--num-classes", type=int, default=7)
    p.add_argument("--option", type=_parse_option, action="append", default=[], metavar="KEY=VALUE",
                   help="a builder option, e.g. --option attention=cbam --option num_aux=1 (repeatable)")
    p.add_argument("--json", action="store_true", help="print params_total, params_trainable, params_fixed, macs, flops")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("recipes", help="list the training recipes that ship with fer_keras (one a paper and dataset)")
    p.add_argument("--json", action="store_true", help="print name, model, dataset, summary and source as JSON")
    p.set_defaults(func=cmd_recipes)

    p = sub.add_parser("train", help="train a paper's recipe (`fer-keras recipes` lists them) into a run directory")
    p.add_argument("model", nargs="?", help="a model name (as `fer-keras summary --help` lists), a recipe name "
                   "(`fer-keras recipes`) or a recipe .yaml")
    p.add_argument("--dataset", default=None, help="the recipe's dataset when MODEL is a model name (default fer2013)")
    p.add_argument("--data", default=None, help="the dataset's file or folder (default: the bundled FER2013 sample)")
    p.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    p.add_argument("--out", default=None, help="run directory (default runs/<model>_<dataset>)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override any recipe value, e.g. --set optimizer.learning_rate=3e-4 (repeatable)")
    p.add_argument("--resume", metavar="RUN", default=None, help="continue the run in RUN from its last completed epoch")
    p.add_argument("--allow-recipe-change", action="store_true", help="with --resume: continue although the recipe in "
                   "RUN/config.yaml was edited since the run started (the change is recorded there; without this "
                   "option such a run is refused, listing the changed keys)")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras fit verbosity (1: progress bar)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("crossval", help="k-fold cross-validation of a recipe with data.folds (CK+, JAFFE): one run "
                       "folder per fold, out/crossval.json; run again to continue")
    p.add_argument("model", help="a model name with --dataset, a recipe name (amdcnn_ckplus) or a recipe .yaml")
    p.add_argument("--dataset", default=None, help="the recipe's dataset when MODEL is a model name")
    p.add_argument("--data", required=True, help="the dataset's folder")
    p.add_argument("--out", default=None, help="folder of the fold runs (default runs/<recipe>_cv)")
    p.add_argument("--folds", default=None, type=_parse_folds, metavar="I,J-K",
                   help="the folds to run, e.g. 0-2 or 0,3 (default all)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override any recipe value, e.g. --set data.folds.protocol=subject (repeatable)")
    p.add_argument("--time-limit-minutes", type=float, default=None,
                   help="stop at the end of the epoch that passes this many minutes; run again to continue")
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="Keras fit verbosity")
    p.set_defaults(func=cmd_crossval)

    p = sub.add_parser("evaluate", help="metrics of a trained model on a dataset split")
    _add_model_source(p, "<model>_<dataset> when it exists, else <model>_fer2013")
    _add_data(p)
    p.add_argument("--tta", choices=("none", "tencrop"), default=None,
                   help="test-time augmentation (default: the recipe's pipeline.tta)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON (and nothing else) on stdout")
    p.add_argument("--out", default=None, metavar="DIR", help="also write metrics.json, confusion_matrix.png, predictions.csv")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("ensemble", help="soft-voting ensemble of trained models (experiments/ensemble_*.yaml) on a split")
    p.add_argument("config", help="an ensemble config: experiments/ensemble_<dataset>.yaml")
    p.add_argument("--data", default=None, help="the dataset's file or folder (default: the members' run data)")
    p.add_argument("--split", default=None, help="a split of the dataset (default: the config's, else each recipe's "
                   "test split when the file has it, else its validation split)")
    p.add_argument("--batch-size", type=_positive_int, default=None, help="images per model call (default: the recipes')")
    p.add_argument("--skip-missing", action="store_true", help="leave out members whose run does not exist yet")
    p.add_argument("--json", action="store_true", help="print the report as JSON (and nothing else) on stdout")
    p.add_argument("--out", default=None, metavar="DIR", help="also write metrics.json, confusion_matrix.png, predictions.csv")
    p.set_defaults(func=cmd_ensemble)

    p = sub.add_parser("predict", help="detect every face in images or videos and classify its expression")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image or video files, or folders of them")
    _add_model_source(p, "<model>_fer2013")
    p.add_argument("--json", action="store_true", help="print a JSON list (one entry per image or video frame)")
    p.add_argument("--out", default=None, metavar="DIR", help="write annotated images (and videos, each with its "
                   "timeline NAME.csv and plot NAME.png) here (never an input folder)")
    p.add_argument("--overwrite", action="store_true", help="replace annotated copies that already exist in --out")
    from fer_keras.predict import DEFAULT_BATCH_SIZE, DETECTORS

    p.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE,
                   help="images per detection batch and faces per model call (default %(default)s)")
    p.add_argument("--every", type=_positive_int, default=1, metavar="N", help="analyse every N-th video frame")
    p.add_argument("--tta", choices=("none", "tencrop"), default="none",
                   help="test-time augmentation: none (one view per face; default) or tencrop (ten views, ~10x the model time)")
    p.add_argument("--detector", choices=DETECTORS, default=DETECTORS[0],
                   help="face detector: BlazeFace short range (fast; faces >= ~1/5 of the photo), its 256-pixel "
                   "back-camera model (smaller faces), or MTCNN (slowest, smallest faces)")
    p.add_argument("--min-confidence", type=_fraction, default=None,
                   help="drop detections less confident than this (default: BlazeFace 0.5, MTCNN 0.9)")
    p.set_defaults(func=cmd_predict)  # no model named: DEFAULT_PRETRAINED, through LiteRT (load_classifier)

    p = sub.add_parser("explain", help="Grad-CAM heat maps and a t-SNE plot of a trained model (PNG)")
    _add_model_source(p, "<model>_<dataset> when it exists, else <model>_fer2013")
    _add_data(p)
    p.add_argument("--out", required=True, metavar="DIR", help="folder for grad_cam.png and tsne.png")
    p.add_argument("--samples", type=_positive_int, default=16, help="faces in the Grad-CAM grid (drawn from every class)")
    p.add_argument("--tsne-samples", type=_count, default=1000, help="samples in the t-SNE plot (0: no t-SNE)")
    p.add_argument("--layer", default=None, help="the feature map for Grad-CAM (default: the last 4-D layer before the head)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample draws and t-SNE")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("export", help="export a trained model for serving: SavedModel, TFLite (float32/float16/int8), ONNX")
    _add_model_source(p, "<model>_fer2013")
    p.add_argument("--format", required=True, choices=("savedmodel", "tflite", "onnx"),
                   help="savedmodel: a TF Serving directory; tflite: a .tflite file; onnx: an .onnx file (tf2onnx). "
                   "Each has one signature: the model's float32 input(s) in [0, 1] -> 'probabilities'")
    p.add_argument("--quantize", default=None, choices=("float16", "int8"),
                   help="TFLite only. float16: weights stored as float16; int8: weights and activations int8, "
                   "calibrated on real training images (see --calibration-data), the class-score layers kept float32")
    p.add_argument("--calibration-data", default=None, metavar="PATH",
                   help="with --quantize int8: the dataset file or folder whose training split (the recipe's, e.g. "
                   "FER2013 Training) calibrates int8; its images go through the recipe's evaluation pipeline "
                   "(default: the run's data, else the bundled FER2013 sample of 560 Training rows)")
    p.add_argument("--calibration-samples", type=_positive_int, default=None, metavar="N",
                   help="with --quantize int8: images drawn (seeded) from that split (default 300)")
    p.add_argument("--out", required=True, metavar="PATH", help="the SavedModel directory (new, empty, or an earlier "
                   "export), or the .tflite / .onnx file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--json", action="store_true", help="print the export's details as JSON (and nothing else) on stdout")
    p.set_defaults(func=cmd_export)
    return parser


# ------------------------------------------------------------------------------------- errors

# The library's argument names whose command-line argument has another name (its dest); the rest
# are written --name-with-dashes, or as the positional's metavar.
ARGUMENT_DESTS = {"overrides": "set", "fmt": "format", "calibration": "calibration_data", "paths": "inputs",
                  "path": "config"}


def _command_arguments(parser, args):
    """{dest: (option string or None, metavar)} of the arguments of the command `args` ran."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    spelled = {}
    for action in commands[args.command]._actions:
        flags = [o for o in action.option_strings if o.startswith("--")] or action.option_strings
        spelled[action.dest] = (flags[0] if flags else None, action.metavar or action.dest)
    if args.command == "train" and getattr(args, "resume", None):  # the run's folder is --resume RUN, not --out
        spelled["out"] = spelled["resume"]
    return spelled


def _spell(argument, value, arguments):
    """`argument` (given `value`, NO_VALUE for none) as the command line writes it, or None when
    it is not one of the command's arguments."""
    found = arguments.get(ARGUMENT_DESTS.get(argument, argument))
    if found is None:
        return None
    flag, metavar = found
    if value is NO_VALUE:
        return flag or metavar
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if flag is None:  # a positional: its value (INPUT: named, as there may be several)
        return f"{metavar} {text}" if metavar.isupper() else text
    return flag if value is True else f"{flag} {text}"


def _spell_references(text, arguments):
    """The arguments a message names in backquotes (`out`, `overwrite=True`, `quantize='int8'`) as
    the command line writes them; other backquoted text stays as it is."""

    def replace(match):
        name, value = match.group(1), match.group(2)
        if value is not None:
            value = True if value == "True" else value.strip("'\"")
        spelled = _spell(name, NO_VALUE if value is None else value, arguments)
        return spelled if spelled is not None else match.group(0)

    return re.sub(r"`(\w+)(?:=([^`]*))?`", replace, text)


def error_message(err, parser, args):
    """The one line the user sees for `err` raised by the command `args` ran: the library's errors
    (fer_keras.errors: ArgumentError, RecipeError, DatasetError, ...) with its flags in place of
    the library's argument names, invalid YAML, and OSErrors (a path the user gave: missing,
    unreadable, a folder where a file belongs, disk full). None for any other exception: a bug."""
    import yaml

    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}"
    if not isinstance(err, (FerKerasError, yaml.YAMLError)):
        return None
    arguments = _command_arguments(parser, args)
    line = str(err)
    if isinstance(err, ArgumentError) and err.argument is not None:
        spelled = _spell(err.argument, err.value, arguments)
        if spelled is not None:
            line = f"{spelled}: {err.problem}"
    return _spell_references(line, arguments)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # The one error boundary: expected failures are one line and exit 2 (130 for Ctrl-C; train
    # adds the command that continues the run). Anything else is a bug and keeps its traceback.
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"fer-keras {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        line = error_message(err, parser, args)
        if line is None:
            raise
        print(f"fer-keras {args.command}: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
