"""The `fer-keras` command line.

    fer-keras --version
    fer-keras layers [--json]     list the reusable layers and losses with their papers' equations
"""

import argparse
import json
import os
import sys

from fer_keras import __version__


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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


def build_parser():
    parser = argparse.ArgumentParser(prog="fer-keras", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fer_keras {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("layers", help="list the reusable layers and losses")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_layers)
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
