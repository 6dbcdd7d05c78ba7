"""`make docker-selftest`'s checks inside the built image (docker/selftest/Containerfile runs them as
RUN steps, so as the image's user, in its working directory, with its environment, as `docker run`
would; `podman run` does not work on the machines this was written for).

    python checks.py predict --tensorflow 2.21.0   the installed TensorFlow is the base image's release (2.21);
                                                   `fer-keras predict --json` on a photo of a bundled face
    python checks.py train                         `fer-keras train amdcnn --epochs 1` on the bundled sample

Each check runs the console script `fer-keras`, the image's entry point, and prints one line that
starts with "SELFTEST " (docker/selftest/selftest.sh collects them for its final line). Any failed
expectation raises, which fails the build step and so names the check.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

FER_KERAS = "fer-keras"  # the image's ENTRYPOINT, on PATH
PHOTO = Path("/tmp/selftest/face.png")
RUN = Path("runs/amdcnn_selftest")  # relative to WORKDIR /work: the runs volume, as `make docker-train` writes


def fer_keras(*args):
    """Run the entry point with `args`; its stdout (its stderr goes to the build log)."""
    print("$", FER_KERAS, *args, flush=True)
    done = subprocess.run([FER_KERAS, *args], stdout=subprocess.PIPE, text=True)
    sys.stdout.write(done.stdout)
    if done.returncode != 0:
        raise SystemExit(f"{FER_KERAS} {' '.join(args)} exited with {done.returncode}")
    return done.stdout


def write_photo(path):
    """The first face of the bundled FER2013 sample (48x48), upscaled onto a gray canvas as the
    test suite's photos are (fer_keras.data.sample.faces_on_canvas), written as a PNG."""
    import cv2

    from fer_keras.data import load_dataset
    from fer_keras.data.sample import faces_on_canvas, sample_path

    faces = load_dataset("fer2013", sample_path(), split="Training").images[:1, :, :, 0]
    canvas, _ = faces_on_canvas(faces)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR)), path
    return path


def check_predict(tensorflow_version):
    import tensorflow as tf

    from fer_keras.data.labels import CLASS_NAMES

    # The real base ships TensorFlow, which `pip install .` keeps (setup.cfg's pin admits it); on the
    # stand-in pip brings the newest release the pin admits, which may be a later patch release.
    release = tf.__version__.split(".")[:2]
    assert release == tensorflow_version.split(".")[:2], (
        f"TensorFlow {tf.__version__} installed; the base image tensorflow/tensorflow:{tensorflow_version}-gpu has {tensorflow_version}")
    photo = write_photo(PHOTO)
    (entry,) = json.loads(fer_keras("predict", str(photo), "--json"))
    faces = entry["faces"]
    assert len(faces) == 1, f"predict found {len(faces)} faces on the photo of one face: {entry}"
    face = faces[0]
    assert face["emotion"] in CLASS_NAMES and set(face["probabilities"]) == set(CLASS_NAMES), face
    assert abs(sum(face["probabilities"].values()) - 1) < 1e-3, face["probabilities"]
    print(f"SELFTEST tensorflow: {tf.__version__}")
    print(f"SELFTEST predict: 1 face ({face['emotion']} {face['probability']:.2f})")


def check_train():
    last = fer_keras("train", "amdcnn", "--epochs", "1", "--out", str(RUN), "--verbose", "2").strip().splitlines()[-1]
    result = json.loads(last)
    assert result["epochs_done"] == 1, result
    missing = [name for name in ("best.keras", "metrics.json", "config.yaml", "log.csv") if not (RUN / name).is_file()]
    assert not missing, f"{RUN} lacks {missing}"
    metrics = json.loads((RUN / "metrics.json").read_text())
    print(f"SELFTEST train: amdcnn 1 epoch ({metrics['precision']}, {metrics['hardware'].split(';')[0]}; "
          f"accuracy {result['accuracy']:.2f} on the sample's validation part)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=["predict", "train"])
    parser.add_argument("--tensorflow", help="the TensorFlow version the image must have (predict)")
    args = parser.parse_args()
    if args.check == "predict":
        check_predict(args.tensorflow)
    else:
        check_train()


if __name__ == "__main__":
    main()
