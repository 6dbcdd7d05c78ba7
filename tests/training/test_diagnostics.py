"""Collapse diagnostics (fer_keras.diagnostics): NumPy checks of each measure and of the warnings."""

import io

import numpy as np
import pytest

from fer_keras.diagnostics import collapse_messages, collapse_monitor, diagnostic_sample, output_diagnostics

pytestmark = pytest.mark.backend_neutral
CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def test_each_measure_against_its_definition(rng):
    labels = np.array([0, 3, 3, 6])
    probabilities = np.eye(7)[[3, 3, 3, 1]] * 0.9 + 0.1 / 7
    cosines = rng.uniform(-1, 1, (4, 7))
    features = rng.normal(size=(4, 16))
    centers = rng.normal(size=(7, 16))
    d = output_diagnostics({"probabilities": probabilities, "main_cosine": cosines, "features": features}, labels, centers)
    assert d["most_predicted_share"] == 0.75 and d["most_predicted_class"] == 3
    assert d["main_cosine_spread"] == pytest.approx(np.mean([c.max() - c.min() for c in cosines]))
    assert d["main_cosine_target_cosine"] == pytest.approx(np.mean([cosines[i, y] for i, y in enumerate(labels)]))
    assert d["feature_norm"] == pytest.approx(np.mean([np.sqrt((f ** 2).sum()) for f in features]))
    assert d["center_term"] == pytest.approx(np.mean([0.5 * ((f - centers[y]) ** 2).sum() for f, y in zip(features, labels)]))


def test_warnings_name_the_class_and_the_collapsed_head():
    collapsed = {"most_predicted_share": 0.97, "most_predicted_class": 3, "cosines_spread": 0.01}
    messages = collapse_messages(collapsed, 3, CLASSES, "PublicTest")
    assert set(messages) == {"majority", "cosines_collapse"}
    assert "97% of the PublicTest faces the same class ('happy')" in messages["majority"]
    assert "'cosines' head's cosines have collapsed" in messages["cosines_collapse"]
    healthy = {"most_predicted_share": 0.4, "most_predicted_class": 3, "cosines_spread": 0.8}
    assert collapse_messages(healthy, 3, CLASSES, "PublicTest") == {}


def test_the_callback_logs_every_epoch_and_warns_once_from_warn_after():
    labels = np.array([0, 1, 2, 3])
    outputs = {"probabilities": np.eye(7)[[3, 3, 3, 3]], "cosines": np.full((4, 7), 0.5)}
    stream = io.StringIO()
    monitor = collapse_monitor(lambda: outputs, labels, CLASSES, "PublicTest", warn_after=2, stream=stream)
    logs = [{} for _ in range(3)]
    for epoch, log in enumerate(logs):
        monitor.on_epoch_end(epoch, log)
        if epoch == 0:
            assert stream.getvalue() == ""  # not before warn_after epochs
    assert logs[2]["diag_most_predicted_share"] == 1.0 and logs[2]["diag_cosines_spread"] == 0.0
    text = stream.getvalue()
    assert text.count("not learned past the majority class") == 1 and text.count("have collapsed") == 1
    assert "after 2 epoch(s)" in text


def test_the_sample_is_fixed_and_never_larger_than_the_split():
    class Record:
        labels = np.zeros(2000)

    first, again = diagnostic_sample(Record(), 512, seed=0), diagnostic_sample(Record(), 512, seed=0)
    assert len(first) == 512 and len(set(first)) == 512 and np.array_equal(first, again)
    Record.labels = np.zeros(100)
    assert np.array_equal(diagnostic_sample(Record(), 512), np.arange(100))
