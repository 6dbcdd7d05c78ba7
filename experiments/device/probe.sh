#!/usr/bin/env bash
# Run a probe (experiments/probes/*_probe.py) on the lent GPU machine, Keras 3 on JAX, after
# experiments/device/train.sh's first calls have carried the wheels and the FER2013 pieces:
#
#   device run, carry [".carry/wheels", ".carry/fer2013.part0of2.npz"]:  bash experiments/device/train.sh check
#   device run, carry [".carry/fer2013.part1of2.npz"]:
#       bash experiments/device/probe.sh lban_islets_probe --train-rows 28709 --val-rows 3589 --epochs 3 --only ...
#
# The probe's JSON comes back under $OUT (copy it to experiments/results/ and commit it with the
# command). On an H200 a full-FER2013 LBAN-IL epoch is seconds, so probes there can use all of
# Training, the budget the CPU here cannot afford (docs/architectures.md, "Collapse").
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .carry/wheels/*.whl
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax PYTHONUNBUFFERED=1
PROBE=${1:?PROBE, e.g. lban_islets_probe}; shift
[ -f /tmp/fer2013.csv ] || python3 experiments/device/pack_fer2013.py unpack .carry /tmp/fer2013.csv
python3 "experiments/probes/$PROBE.py" --data /tmp/fer2013.csv --out "${OUT:?}/$PROBE.json" "$@"
