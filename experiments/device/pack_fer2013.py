"""FER2013 in pieces small enough to carry to the lent GPU machine, and back into a CSV there.

The device tool carries at most 64 MiB a call, and ../shared does not travel; FER2013 (Training +
PublicTest, 87 MB as csv.gz) goes as compressed uint8 pieces in .carry/ (git-ignored), one piece a
call: pieces carried earlier stay on the machine while it is warm.

    python experiments/device/pack_fer2013.py pack ../shared/data/fer2013/fer2013.csv.gz .carry
    python experiments/device/pack_fer2013.py unpack .carry /tmp/fer2013.csv     # on the device

A piece is an .npz (zlib) with `emotion` (int8), `usage` (int8 index into USAGES) and `pixels`
((n, 2304) uint8), and `rows`, the 0-based positions of its rows in the source, so unpacking
restores the source's row order. `unpack` refuses an incomplete or mixed set of pieces, naming
the piece. experiments/device/train.sh is the device-side command that uses them.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fer_keras.data.fer2013 import COLUMNS, USAGES, parse_fer2013_csv  # noqa: E402  (after the path)


def pack(csv, out, pieces):
    images, labels, usages, _ = parse_fer2013_csv(csv)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("fer2013.part*.npz"):
        stale.unlink()
    usage_codes = np.array([USAGES.index(u) for u in usages], np.int8)
    pixels = images.reshape(len(images), -1)
    written = []
    for i, rows in enumerate(np.array_split(np.arange(len(images)), pieces)):
        path = out / f"fer2013.part{i}of{pieces}.npz"
        np.savez_compressed(path, emotion=labels[rows].astype(np.int8), usage=usage_codes[rows], pixels=pixels[rows],
                            rows=rows, total=len(images))
        written.append(path)
        print(f"{path}: {len(rows)} rows, {path.stat().st_size / 2**20:.1f} MiB")
    return written


def unpack(folder, csv):
    parts = sorted(Path(folder).glob("fer2013.part*.npz"))
    if not parts:
        raise SystemExit(f"unpack: no fer2013.part*.npz in {folder}")
    expected = int(parts[0].name.split("of")[1].split(".")[0])
    if len(parts) != expected:
        raise SystemExit(f"unpack: {folder} holds {len(parts)} of the {expected} pieces "
                         f"({', '.join(p.name for p in parts)}): carry the others first")
    loaded = [dict(np.load(p)) for p in parts]
    total = int(loaded[0]["total"])
    for part, data in zip(parts, loaded):
        if int(data["total"]) != total or not part.name.endswith(f"of{expected}.npz"):
            raise SystemExit(f"unpack: {part} belongs to another packing (total {int(data['total'])}, not {total})")
    order = np.concatenate([d["rows"] for d in loaded])
    if not np.array_equal(np.sort(order), np.arange(total)):
        raise SystemExit(f"unpack: the pieces in {folder} do not cover rows 0..{total - 1} exactly once")
    emotion, usage, pixels = (np.concatenate([d[k] for d in loaded])[np.argsort(order)] for k in ("emotion", "usage", "pixels"))
    lines = [",".join(COLUMNS)]
    lines += [f"{e},{' '.join(map(str, row))},{USAGES[u]}" for e, u, row in zip(emotion, usage, pixels)]
    Path(csv).write_text("\n".join(lines) + "\n")
    print(f"{csv}: {total} rows from {len(parts)} pieces")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("pack", help="split a FER2013 CSV into compressed pieces")
    p.add_argument("csv")
    p.add_argument("out")
    p.add_argument("--pieces", type=int, default=2, help="how many pieces (each must stay well under 64 MiB)")
    p = sub.add_parser("unpack", help="rebuild the CSV from every piece in a folder")
    p.add_argument("folder")
    p.add_argument("csv")
    args = parser.parse_args(argv)
    if args.action == "pack":
        pack(args.csv, args.out, args.pieces)
    else:
        unpack(args.folder, args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
