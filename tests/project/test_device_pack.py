"""experiments/device: FER2013 packed into pieces for the GPU machine unpacks to the same dataset."""

import subprocess

import numpy as np
import pytest

from tests.helpers import ROOT, load_script


def _pack_module():
    return load_script("experiments/device/pack_fer2013.py")


def mixed_csv(path, rows=40):
    """The bundled sample's first rows with the three usages interleaved, as a FER2013 CSV."""
    from fer_keras.data.fer2013 import parse_fer2013_csv
    from fer_keras.data.sample import sample_path

    images, labels, _, _ = parse_fer2013_csv(sample_path())
    usages = ["Training", "PublicTest", "PrivateTest", "Training"]
    lines = ["emotion,pixels,Usage"] + [f"{labels[i]},{' '.join(map(str, images[i].ravel()))},{usages[i % 4]}"
                                        for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pieces_unpack_to_the_same_rows_in_the_same_order(tmp_path):
    from fer_keras.data.fer2013 import parse_fer2013_csv

    source = mixed_csv(tmp_path / "source.csv")
    packer = _pack_module()
    parts = packer.pack(source, tmp_path / "carry", pieces=3)
    assert [p.name for p in parts] == [f"fer2013.part{i}of3.npz" for i in range(3)]
    packer.unpack(tmp_path / "carry", tmp_path / "fer2013.csv")
    original, rebuilt = parse_fer2013_csv(source), parse_fer2013_csv(tmp_path / "fer2013.csv")
    assert len(set(original[2])) == 3
    for a, b in zip(original[:3], rebuilt[:3]):
        np.testing.assert_array_equal(a, b)


def test_unpack_refuses_a_missing_piece_naming_what_is_there(tmp_path):
    from fer_keras.data.sample import sample_path

    packer = _pack_module()
    parts = packer.pack(sample_path(), tmp_path, pieces=2)
    parts[1].unlink()
    with pytest.raises(SystemExit, match=r"holds 1 of the 2 pieces \(fer2013.part0of2.npz\)"):
        packer.unpack(tmp_path, tmp_path / "fer2013.csv")


def test_the_device_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(ROOT / "experiments/device/train.sh")], check=True)
