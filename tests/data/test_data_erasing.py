"""Random erasing (Zhong et al., AAAI 2020) in both augmentation twins: off changes nothing, on
erases one axis-aligned rectangle of the paper's area and aspect with probability p, never at
evaluation, with one distribution in NumPy and TensorFlow; the option's checks and round trip."""

import numpy as np
import pytest

from fer_keras.data import DatasetRecord, PipelineConfig, make_pydataset
from fer_keras.data.augment import Augmentation, augment_batch, augment_batch_numpy
from fer_keras.errors import PipelineError
from fer_keras.quiet import import_keras_quietly

keras = import_keras_quietly()

pytestmark = pytest.mark.backend_neutral

GRAY = 100.0  # the constant image: every other value the output holds is the erasing's fill
IN, OUT = (48, 48), (44, 44)


def tensorflow_or_skip():
    """TensorFlow, when this run's backend is TensorFlow and it imports; skip otherwise."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFlow twin runs on the TensorFlow backend only")
    return pytest.importorskip("tensorflow")


def constant_images(n, channels=1):
    return np.full((n, *IN, channels), GRAY, np.float32)


def numpy_twin(images, augmentation, seed=0, training=True):
    return augment_batch_numpy(images, OUT, augmentation, np.random.default_rng(seed), training)


def tf_twin(images, augmentation, seed=0, training=True):
    tf = tensorflow_or_skip()
    return augment_batch(tf.constant(images), OUT, augmentation, tf.constant([seed, 7], tf.int64), training).numpy()


def erased_rectangles(out):
    """(N, 4) top, left, height, width of each image's erased pixels (-1 where none), asserting
    that they are exactly one filled axis-aligned rectangle with fill values in [0, 255]."""
    boxes = []
    for image in out:
        changed = (image != GRAY).any(-1)
        if not changed.any():
            boxes.append((-1, -1, -1, -1))
            continue
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        top, left, height, width = rows[0], cols[0], rows[-1] + 1 - rows[0], cols[-1] + 1 - cols[0]
        box = np.zeros_like(changed)
        box[top : top + height, left : left + width] = True
        assert np.array_equal(changed, box)  # one whole rectangle (a fill value of exactly GRAY: p ~ 0)
        assert 0 <= image[changed].min() and image[changed].max() <= 255
        boxes.append((top, left, height, width))
    return np.array(boxes)


def assert_paper_shapes(boxes, area=(0.02, 0.4), aspect=(0.3, 3.3)):
    """Area fraction and aspect (height / width) within the ranges, up to the rounding of each side
    to whole pixels (half a pixel either way)."""
    h, w = OUT
    heights, widths = boxes[:, 2].astype(float), boxes[:, 3].astype(float)
    assert ((heights + 0.5) * (widths + 0.5) >= area[0] * h * w).all()
    assert ((heights - 0.5) * (widths - 0.5) <= area[1] * h * w).all()
    assert ((heights + 0.5) / (widths - 0.5) >= aspect[0]).all()
    assert ((heights - 0.5) / (widths + 0.5) <= aspect[1]).all()


AUGMENTED = {"horizontal_flip": True, "rotation": 10, "scale": 0.1, "brightness": 0.2}


def test_erasing_off_changes_nothing_bit_for_bit(rng):
    images = rng.integers(0, 256, (16, *IN, 1)).astype(np.float32)
    without, off = Augmentation(**AUGMENTED), Augmentation(**AUGMENTED, erasing=0.0)
    assert np.array_equal(numpy_twin(images, without, 3), numpy_twin(images, off, 3))
    record = DatasetRecord("toy", images.astype(np.uint8), rng.integers(0, 7, 16), tuple("abcdefg"))
    batches = [list(make_pydataset(record, PipelineConfig(input_size=OUT, batch_size=8, augmentation=a, seed=2), True))
               for a in (AUGMENTED, {**AUGMENTED, "erasing": 0})]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(*batches))
    if keras.backend.backend() == "tensorflow":
        assert np.array_equal(tf_twin(images, without, 3), tf_twin(images, off, 3))


@pytest.mark.parametrize("twin", ["numpy", "tensorflow"])
def test_erasing_on_erases_one_rectangle_of_the_papers_area_and_aspect(twin):
    run = numpy_twin if twin == "numpy" else tf_twin
    out = run(constant_images(300, 3), Augmentation(horizontal_flip=False, erasing=1.0))
    boxes = erased_rectangles(out)
    assert (boxes[:, 2] > 0).all()  # every image
    assert_paper_shapes(boxes)
    assert (boxes[:, 0] + boxes[:, 2] <= OUT[0]).all() and (boxes[:, 1] + boxes[:, 3] <= OUT[1]).all()
    assert boxes[:, 0].max() > 20 and boxes[:, 1].max() > 20 and boxes[:, 0].min() == 0  # spread over the crop
    narrow = run(constant_images(300), Augmentation(horizontal_flip=False, erasing=1.0, erasing_area=[0.1, 0.1],
                                                    erasing_aspect=[1, 1]))
    assert set(map(tuple, erased_rectangles(narrow)[:, 2:])) == {(14, 14)}  # sqrt(0.1 * 44 * 44) = 13.9


@pytest.mark.parametrize("twin", ["numpy", "tensorflow"])
def test_the_share_of_erased_images_is_the_probability_and_evaluation_never_erases(twin):
    run = numpy_twin if twin == "numpy" else tf_twin
    n, p = 2000, 0.5
    erased = erased_rectangles(run(constant_images(n), Augmentation(horizontal_flip=False, erasing=p)))[:, 2] > 0
    assert abs(erased.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    evaluated = run(constant_images(64), Augmentation(erasing=1.0), training=False)
    assert (evaluated == GRAY).all()
    record = DatasetRecord("toy", np.full((8, *IN, 1), int(GRAY), np.uint8), np.zeros(8, np.int64), tuple("abcdefg"))
    config = PipelineConfig(input_size=OUT, batch_size=8, normalization="none", tta="tencrop",
                            augmentation={"erasing": 1.0})
    assert all((np.asarray(batch[0]) == GRAY).all() for batch in make_pydataset(record, config, False))  # ten-crop


def test_both_twins_draw_one_distribution_of_erased_areas():
    augmentation = Augmentation(horizontal_flip=False, erasing=1.0)
    n = 2000
    areas = {}
    for name, run in (("numpy", numpy_twin), ("tensorflow", tf_twin)):
        boxes = erased_rectangles(run(constant_images(n), augmentation))
        areas[name] = boxes[:, 2] * boxes[:, 3] / (OUT[0] * OUT[1])
        aspects = np.log(boxes[:, 2] / boxes[:, 3])
        assert areas[name].mean() == pytest.approx(0.21, abs=0.01)  # uniform in [0.02, 0.4]
        assert abs(aspects.mean()) < 0.06  # log-uniform about 1 (the fitting limits are symmetric)
    standard_error = np.sqrt((areas["numpy"].var() + areas["tensorflow"].var()) / n)
    assert abs(areas["numpy"].mean() - areas["tensorflow"].mean()) < 4 * standard_error


def test_erasing_runs_in_the_tf_data_graph(rng):
    tensorflow_or_skip()
    from fer_keras.data.pipeline import make_dataset

    record = DatasetRecord("toy", np.full((16, *IN, 1), int(GRAY), np.uint8), rng.integers(0, 7, 16), tuple("abcdefg"))
    config = PipelineConfig(input_size=OUT, batch_size=8, normalization="none",
                            augmentation={"horizontal_flip": False, "erasing": 1.0}, seed=1)
    images = np.concatenate([np.asarray(batch[0]) for batch in make_dataset(record, config, True)])
    assert (erased_rectangles(images)[:, 2] > 0).all()
    evaluation = np.concatenate([np.asarray(batch[0]) for batch in make_dataset(record, config, False)])
    assert (evaluation == GRAY).all()


def test_the_option_round_trips_and_bad_values_are_refused():
    from fer_keras.errors import RecipeError
    from fer_keras.recipes import load_recipe

    augmentation = Augmentation(erasing=0.5, erasing_area=[0.05, 0.3], erasing_aspect=(0.5, 2))
    assert augmentation.erasing_area == (0.05, 0.3) and augmentation.erasing_aspect == (0.5, 2.0)
    assert Augmentation.from_dict(augmentation.to_dict()) == augmentation
    config = PipelineConfig(augmentation=augmentation.to_dict())
    assert PipelineConfig.from_dict(config.to_dict()).augmentation == augmentation
    assert Augmentation().erasing == 0.0  # off unless asked for
    for options in ({"erasing": 1.5}, {"erasing": -0.1}, {"erasing": "half"}, {"erasing_area": [0.5, 0.1]},
                    {"erasing_area": [0, 0.3]}, {"erasing_area": [0.1, 1.0]}, {"erasing_area": [0.1]},
                    {"erasing_aspect": [2, 1]}, {"erasing_aspect": "wide"}):
        with pytest.raises(PipelineError, match="augmentation erasing"):
            Augmentation.from_dict(options)
    recipe = load_recipe("amdcnn", overrides=["pipeline.augmentation.erasing=0.5",
                                              "pipeline.augmentation.erasing_area=[0.02, 0.3]"])
    assert recipe["pipeline"]["augmentation"]["erasing"] == 0.5
    with pytest.raises(RecipeError, match="erasing"):
        load_recipe("amdcnn", overrides=["pipeline.augmentation.erasing=2"])
