"""The `fer-keras` command line.

    fer-keras --version
    fer-keras layers [--json]                                list the reusable layers and losses
    fer-keras summary MODEL [--input-shape H,W,C] [--json]   layers, parameters, MACs and FLOPs
    fer-keras train MODEL [--dataset D] [--data PATH] [--epochs N] [--out RUN] [--set k=v ...]
    fer-keras train --resume RUN                             continue an interrupted run
"""

import argparse
import json
import sys

from fer_keras import __version__


def _quiet_tensorflow():
    from fer_keras.quiet import import_keras_quietly

    import_keras_quietly()


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

    return key, yaml.safe_load(value)


def cmd_summary(args):
    _quiet_tensorflow()
    from fer_keras.models import build_model, complexity, layer_table

    try:
        model = build_model(args.model, input_shape=args.input_shape, num_classes=args.num_classes, **dict(args.option))
    except ValueError as err:
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


def cmd_train(args):
    _quiet_tensorflow()
    from fer_keras.recipes import load_recipe
    from fer_keras.training import NonFiniteLossError, train

    try:
        if args.resume:
            recipe, data, out = None, None, args.resume
        else:
            if not args.model:
                raise ValueError("give a MODEL (amdcnn, lban, mifad_net, mrcar), a recipe name or file, or --resume RUN")
            overrides = list(args.set) + ([f"training.epochs={args.epochs}"] if args.epochs else [])
            recipe = load_recipe(args.model, args.dataset, overrides)
            data, out = args.data, args.out or f"runs/{recipe['model']['name']}_{recipe['data']['dataset']}"
        metrics = train(recipe, data=data, out=out, resume=bool(args.resume), verbose=args.verbose)
    except (ValueError, NonFiniteLossError) as err:
        print(f"fer-keras train: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"run": str(out), "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
                      "epochs_done": metrics["epochs_done"]}))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="fer-keras", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fer_keras {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("layers", help="list the reusable layers and losses")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("summary", help="layer table, parameters, MACs and FLOPs of a model")
    p.add_argument("model", help="mifad_net, mrcar, amdcnn or lban")
    p.add_argument("--input-shape", type=_parse_shape, default=None, help="H,W,C (default: the paper's FER2013 input)")
    p.add_argument("--num-classes", type=int, default=7)
    p.add_argument("--option", type=_parse_option, action="append", default=[], metavar="KEY=VALUE",
                   help="a builder option, e.g. --option attention=cbam --option num_aux=1 (repeatable)")
    p.add_argument("--json", action="store_true", help="print params_total, params_trainable, params_fixed, macs, flops")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("train", help="train a paper's recipe (experiments/<model>_<dataset>.yaml) into a run directory")
    p.add_argument("model", nargs="?", help="a model (amdcnn, lban, mifad_net, mrcar), a recipe name or a recipe .yaml")
    p.add_argument("--dataset", default=None, help="the recipe's dataset when MODEL is a model name (default fer2013)")
    p.add_argument("--data", default=None, help="the dataset's file or folder (default: the bundled FER2013 sample)")
    p.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    p.add_argument("--out", default=None, help="run directory (default runs/<model>_<dataset>)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override any recipe value, e.g. --set optimizer.learning_rate=3e-4 (repeatable)")
    p.add_argument("--resume", metavar="RUN", default=None, help="continue the run in RUN from its last completed epoch")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras fit verbosity (1: progress bar)")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
