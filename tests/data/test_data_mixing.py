"""Mixup (Zhang et al., ICLR 2018) and CutMix (Yun et al., ICCV 2019) in both pipeline twins: the
mixed pixels follow the papers' equations with lam ~ Beta(alpha, alpha) (CutMix: a box of
sqrt(1 - lam) sides, lam then the share left), each image takes its own label with probability
lam and its partner's (the batch backwards) otherwise, weights follow labels, evaluation never
mixes, and off changes nothing; the options' checks."""

import numpy as np
import pytest
from scipy import stats

from fer_keras.data import DatasetRecord, PipelineConfig, make_pydataset
from fer_keras.data.augment import Augmentation
from fer_keras.data.mixing import beta_quantiles, mix_batch_numpy, mix_batch_tf
from fer_keras.errors import PipelineError
from fer_keras.quiet import import_keras_quietly

keras = import_keras_quietly()

pytestmark = pytest.mark.backend_neutral

B, SIZE = 64, (12, 10)
VALUES = 3.0 * np.arange(B) + 10.0  # image i is the constant VALUES[i]; its label is i


def constant_batch():
    images = np.broadcast_to(VALUES[:, None, None, None], (B, *SIZE, 1)).astype(np.float32)
    return images, np.arange(B, dtype=np.int32), (np.arange(B) + 100.0).astype(np.float32)


def numpy_twin(augmentation, seed):
    images, labels, weights = constant_batch()
    views, y, w = mix_batch_numpy({"x": images}, labels, weights, augmentation,
                                  beta_quantiles(augmentation.mix_alpha), np.random.default_rng(seed))
    return views["x"], y, w


def tf_twin(augmentation, seed):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFlow twin runs on the TensorFlow backend only")
    tf = pytest.importorskip("tensorflow")
    images, labels, weights = constant_batch()
    views, y, w = mix_batch_tf({"x": tf.constant(images)}, tf.constant(labels), tf.constant(weights), augmentation,
                               tf.constant(beta_quantiles(augmentation.mix_alpha), tf.float32),
                               tf.constant([seed, 3], tf.int64))
    return views["x"].numpy(), y.numpy(), w.numpy()


TWINS = {"numpy": numpy_twin, "tensorflow": tf_twin}


def collect(twin, augmentation, batches=60):
    """(lam, own) over `batches` batches: each image's share of its own pixels, whether it kept its
    label; asserting that pixels come only from the image and its partner, and weights follow labels."""
    lams, owns = [], []
    partner = VALUES[::-1]
    for seed in range(batches):
        images, y, w = TWINS[twin](augmentation, seed)
        own = y == np.arange(B)
        assert (own | (y == B - 1 - np.arange(B))).all()
        assert np.array_equal(w, y + 100.0)
        if augmentation.mix == "mixup":
            assert np.allclose(images, images[:, :1, :1, :], atol=1e-3)  # still constant images
            lam = (images[:, 0, 0, 0] - partner) / (VALUES - partner)
        else:
            mine, theirs = np.isclose(images[..., 0], VALUES[:, None, None]), np.isclose(images[..., 0],
                                                                                         partner[:, None, None])
            assert (mine | theirs).all()
            for box in theirs:  # the partner's pixels are one axis-aligned rectangle (or none)
                if box.any():
                    rows, cols = np.flatnonzero(box.any(1)), np.flatnonzero(box.any(0))
                    assert box[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()
                    assert box.sum() == len(rows) * len(cols)
            lam = mine.mean(axis=(1, 2))
        lams.append(lam), owns.append(own)  # B is even: no image is its own partner
    return np.concatenate(lams), np.concatenate(owns)


@pytest.mark.parametrize("twin", ["numpy", "tensorflow"])
@pytest.mark.parametrize("alpha", [0.4, 1.0])
def test_mixup_weights_are_beta_and_labels_are_kept_with_probability_lam(twin, alpha):
    lam, own = collect(twin, Augmentation(horizontal_flip=False, mix="mixup", mix_alpha=alpha))
    assert ((lam > -1e-4) & (lam < 1 + 1e-4)).all()
    assert stats.kstest(np.clip(lam, 0, 1), stats.beta(alpha, alpha).cdf).pvalue > 1e-3
    # E[own | lam] = lam: within each third of lam the kept share matches the mean lam
    for low, high in ((0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.01)):
        chosen = (lam >= low) & (lam < high)
        assert abs(own[chosen].mean() - lam[chosen].mean()) < 4 * np.sqrt(0.25 / chosen.sum()) + 0.01


@pytest.mark.parametrize("twin", ["numpy", "tensorflow"])
def test_cutmix_pastes_one_box_and_lam_is_the_share_left(twin):
    lam, own = collect(twin, Augmentation(horizontal_flip=False, mix="cutmix"))
    pasted = 1 - lam
    # boxes of sqrt(1 - lam) sides about a uniform centre, clipped: a quarter to a half of the image on average
    assert 0.2 < pasted.mean() < 0.45 and pasted.max() > 0.6 and (pasted == 0).mean() < 0.2
    assert abs(own.mean() - lam.mean()) < 4 * np.sqrt(0.25 / len(own))


@pytest.mark.parametrize("twin", ["numpy", "tensorflow"])
def test_mix_probability_leaves_the_other_images_alone(twin):
    lam, own = collect(twin, Augmentation(horizontal_flip=False, mix="mixup", mix_probability=0.25), batches=40)
    untouched = np.isclose(lam, 1.0, atol=1e-4)
    assert abs(untouched.mean() - 0.75) < 4 * np.sqrt(0.75 * 0.25 / len(lam))
    assert own[untouched].all()


def test_both_twins_draw_one_distribution():
    augmentation = Augmentation(horizontal_flip=False, mix="cutmix")
    lams = {twin: collect(twin, augmentation)[0] for twin in TWINS}
    error = np.sqrt((lams["numpy"].var() + lams["tensorflow"].var()) / len(lams["numpy"]))
    assert abs(lams["numpy"].mean() - lams["tensorflow"].mean()) < 4 * error


def toy_record(n=32, labels=None):
    images = np.broadcast_to((3 * np.arange(n) + 10).astype(np.uint8)[:, None, None, None], (n, 48, 48, 1))
    return DatasetRecord("toy", np.ascontiguousarray(images), np.arange(n) if labels is None else labels,
                         tuple(f"c{i}" for i in range(n)))


@pytest.mark.parametrize("mix", ["mixup", "cutmix"])
def test_the_pipelines_mix_training_batches_only(mix):
    record = toy_record()
    config = PipelineConfig(input_size=(44, 44), batch_size=16, normalization="none", sample_weights=True,
                            augmentation={"horizontal_flip": False, "mix": mix})
    makers = [make_pydataset]
    if keras.backend.backend() == "tensorflow":
        from fer_keras.data.pipeline import make_dataset

        makers.append(make_dataset)
    for make in makers:
        originals, mixed = set(3.0 * np.arange(32) + 10), 0
        for x, y, w in make(record, config, True):
            x, y = np.asarray(x), np.asarray(y)
            mixed += sum(not ((image == image.flat[0]).all() and image.flat[0] in originals) for image in x)
            assert set(y.tolist()) <= set(range(32)) and np.allclose(np.asarray(w), 1.0)
        assert mixed > 16, make.__name__
        for x, y, _ in make(record, config, False):
            assert np.array_equal(np.asarray(x)[:, 0, 0, 0], 3.0 * np.asarray(y) + 10)  # evaluation: untouched


def test_off_changes_nothing_and_bad_options_are_refused():
    record = toy_record()
    base = {"horizontal_flip": True, "rotation": 10}
    batches = [[np.asarray(b[0]) for b in make_pydataset(record, PipelineConfig(
        input_size=(44, 44), batch_size=16, augmentation=augmentation), True)]
        for augmentation in (base, {**base, "mix": None})]
    assert all(np.array_equal(a, b) for a, b in zip(*batches))
    for options in ({"mix": "mixed"}, {"mix": "mixup", "mix_alpha": 0}, {"mix": "mixup", "mix_alpha": "one"},
                    {"mix_probability": 1.5}, {"mix_probability": True}):
        with pytest.raises(PipelineError, match="augmentation mix"):
            Augmentation(**options)
    regions = {"face": record.images, "eyes": record.images}
    with pytest.raises(PipelineError, match="cutmix.*single-input"):
        make_pydataset(record, PipelineConfig(augmentation={"mix": "cutmix"}), True, inputs=regions)
    make_pydataset(record, PipelineConfig(augmentation={"mix": "mixup"}), True, inputs=regions)


def test_a_recipe_takes_the_options():
    from fer_keras.errors import RecipeError
    from fer_keras.recipes import load_recipe

    recipe = load_recipe("amdcnn_plus", overrides=["pipeline.augmentation.mix=cutmix",
                                                   "pipeline.augmentation.mix_probability=0.5"])
    assert recipe["pipeline"]["augmentation"]["mix"] == "cutmix"
    with pytest.raises(RecipeError, match="mix"):
        load_recipe("amdcnn_plus", overrides=["pipeline.augmentation.mix=mixupp"])
