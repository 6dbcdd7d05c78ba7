#!/usr/bin/env bash
# Train a FER2013 recipe on the lent GPU machine: Keras 3 on JAX (it has no TensorFlow), FER2013
# rebuilt from the pieces in .carry/ (experiments/device/pack_fer2013.py), the keras, namex and
# optree wheels from .carry/wheels (make device-pack makes both here).
#
#   device run, carry [".carry/wheels", ".carry/fer2013.part0of2.npz"]:  bash experiments/device/train.sh check
#   device run, carry [".carry/fer2013.part1of2.npz"]:  bash experiments/device/train.sh mifad_net 8
#
# `check` installs the wheels and prints the backend and GPU (a short first call). MODEL MINUTES
# trains for at most MINUTES (training.time_limit_minutes), continuing the run in /tmp/runs when
# the machine still holds it, and brings back under $OUT: metrics.json, log.csv, the PNGs,
# config.yaml and best.keras (split into 15 MiB pieces: cat best.keras.part* > best.keras).
# MrCAR needs MTCNN landmarks (MTCNN needs TensorFlow): train it here, not there.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .carry/wheels/*.whl
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
if [ "${1:?MODEL or check}" = check ]; then
    python3 -c "import jax, keras, fer_keras; print('keras', keras.__version__, keras.backend.backend(), jax.devices())"
    exit 0
fi
MODEL=$1 MINUTES=${2:?MINUTES}
[ -f /tmp/fer2013.csv ] || python3 experiments/device/pack_fer2013.py unpack .carry /tmp/fer2013.csv
RUN=/tmp/runs/${MODEL}_fer2013
if [ -f "$RUN/config.yaml" ]; then
    python3 -m fer_keras train --resume "$RUN" --set training.time_limit_minutes="$MINUTES" --verbose 2
else
    python3 -m fer_keras train "$MODEL" --data /tmp/fer2013.csv --out "$RUN" --set training.time_limit_minutes="$MINUTES" --verbose 2
fi
cp "$RUN"/metrics.json "$RUN"/log.csv "$RUN"/curves.png "$RUN"/confusion_matrix.png "$RUN"/config.yaml "${OUT:?}"/
split -b 15M "$RUN/best.keras" "$OUT/best.keras.part"
