# fer_keras: `make install` then `make test` on a fresh machine.
PYTHON ?= python3
PYTEST := $(PYTHON) -m pytest
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: help install test test-tensorflow test-jax

help:
	@echo "make install   pip-install fer_keras (editable) with its test extras: TensorFlow, Keras 3, JAX (CPU), pytest"
	@echo "make test      the whole suite on the TensorFlow backend, then the backend-neutral tests on JAX"

install:
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install -e ".[dev]"

test: test-tensorflow test-jax

test-tensorflow:
	KERAS_BACKEND=tensorflow $(PYTEST) tests

test-jax:
	KERAS_BACKEND=jax $(PYTEST) -m backend_neutral tests
