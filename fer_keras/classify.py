"""Classify faces in photos with a trained model: turn each face into the model's inputs, then run
them through the recipe's evaluation pipeline.

    from fer_keras.classify import classify, face_inputs
    from fer_keras.data.faces import detect_faces
    from fer_keras.loading import load_trained
    trained = load_trained(pretrained="amdcnn_fer2013")
    marks = detect_faces(photo)                                   # (H, W, 3) uint8 RGB
    inputs = face_inputs(photo, marks, trained.recipe, trained.model)
    probabilities = classify(trained.model, trained.recipe, inputs)   # (faces, classes)

Faces from photos (`face_inputs`): each detected face is placed by its five MTCNN landmarks
(`fer_keras.data.faces.align_face`) where FER2013's faces sit in their crops, in a square of the
side the model's training images had (`face_side`: FER2013's 48, RAF-DB's 100, the recipe's resize,
else the model's input size), with scale and translation only, or also de-rotated when the
training faces were (`face_rotation`: MrCAR, RAF-DB), in the model's channels, and then goes through the recipe's evaluation pipeline (centre crop or ten-crop
to the input size, normalisation), exactly as the dataset images did. MrCAR gets its face, eyes and
mouth crops (`fer_keras.data.faces.region_crops`) the same way.

Loading a model is `fer_keras.loading`'s; evaluating one on a dataset split, `fer_keras.evaluation`'s;
detecting the faces of image and video files, `fer_keras.predict`'s.
"""

import numpy as np

from fer_keras.data.datasets import DATASETS
from fer_keras.evaluation import eval_config, predict_probabilities
from fer_keras.loading import input_shape, num_outputs, uses_regions
from fer_keras.recipes.schema import Recipe


def face_side(recipe, model):
    """The side of the square aligned face a photo's face is warped to before the evaluation
    pipeline crops it to the model's input: the recipe's pipeline.resize, else its reader's
    image_size option, else its face_size option (JAFFE's crops), else the side of the faces its
    dataset's reader delivers (`fer_keras.data.datasets.DatasetInfo.face_side`), else the input size.
    `recipe`: a Recipe or its dict."""
    height, width = input_shape(model)[:2]
    recipe = Recipe.of(recipe)
    resize, data = recipe.pipeline.resize, recipe.data
    if resize:
        side = max(resize)
    elif data.options.get("image_size"):
        side = max(data.options["image_size"])
    elif data.options.get("face_size") and data.options.get("face_crop", True):
        side = int(data.options["face_size"])  # a portrait dataset's face crops (JAFFE's reader)
    else:
        info = DATASETS.get(data.dataset)
        side = info.face_side if info is not None else None
    return int(max(side or 0, height, width))


def _to_channels(image, channels):
    """(H, W, C) uint8 RGB or gray -> (H, W, channels)."""
    import cv2

    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == channels:
        return image
    if channels == 1:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)[..., None]
    return np.repeat(image, 3, axis=-1)


def face_rotation(recipe, model):
    """Whether photos' faces are de-rotated for this model: as its training faces were (MrCAR's
    region crops and the datasets whose faces come de-rotated, `DatasetInfo.derotated`: RAF-DB's
    aligned images; FER2013's and the other datasets' crops are not, so they get scale and
    translation only). `recipe`: a Recipe or its dict."""
    info = None if recipe is None else DATASETS.get(Recipe.of(recipe).data.dataset)
    return bool(uses_regions(model) or (info is not None and info.derotated))


def face_inputs(image, landmarks, recipe, model, rotation=None):
    """The uint8 inputs of the faces with `landmarks` ((K, 5, 2), or a FaceLandmarks) in `image`
    ((H, W, C) uint8 RGB): an (K, side, side, C) array, or for MrCAR a dict of them ("face",
    "eyes", "mouth"); side = `face_side`, C = the model's channels. Feed them to `classify`.
    `recipe`: a Recipe or its dict. rotation: de-rotate the faces (None: `face_rotation`, what the
    model was trained on)."""
    from fer_keras.data.faces import REGIONS, align_face, region_crops

    recipe = Recipe.of(recipe)
    points = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64).reshape(-1, 5, 2)
    side, channels = face_side(recipe, model), input_shape(model)[-1]
    image = _to_channels(image, channels)
    if uses_regions(model):
        crops = [region_crops(image, p, side) for p in points]
        return {region: np.stack([c[region] for c in crops]) if crops else np.zeros((0, side, side, channels), np.uint8)
                for region in REGIONS}
    rotation = face_rotation(recipe, model) if rotation is None else bool(rotation)
    faces = [align_face(image, p, side, rotation=rotation) for p in points]
    return np.stack(faces) if faces else np.zeros((0, side, side, channels), np.uint8)


def concat_inputs(parts):
    """Concatenate a list of `face_inputs` results (arrays or dicts of arrays)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if isinstance(parts[0], dict):
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return np.concatenate(parts)


def _count(inputs):
    return 0 if inputs is None else len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)


def classify(model, recipe, inputs, batch_size=32, tta=None):
    """(K, classes) probabilities of the uint8 `inputs` (from `face_inputs`) through the evaluation
    pipeline of `recipe` (a Recipe or its dict); tta "tencrop" averages the ten views."""
    from fer_keras.data.record import DatasetRecord

    n = _count(inputs)
    if not n:
        return np.zeros((0, num_outputs(model)))
    images = inputs["face"] if isinstance(inputs, dict) else inputs
    record = DatasetRecord("faces", images, np.zeros(n, np.int64), tuple(range(num_outputs(model))))
    config = eval_config(recipe, batch_size)
    regions = inputs if isinstance(inputs, dict) else None
    if n > config.batch_size:  # many faces: Keras's predict loop over the backend's pipeline
        return predict_probabilities(model, record, config, regions, tta)
    # A photo's few faces: one batch from the NumPy twin of the pipeline and one compiled call,
    # without predict()'s per-call set-up (tens of milliseconds a photo).
    from dataclasses import replace

    from fer_keras.data.pipeline import average_ten_crop
    from fer_keras.data.pydataset import make_pydataset

    config = replace(config, tta=tta, sample_weights=False)
    (x,) = make_pydataset(record, config, False, regions, transform=lambda x, y: (x,))[0]
    outputs = model.predict_on_batch(x)
    probabilities = np.asarray(outputs["probabilities"] if isinstance(outputs, dict) else outputs, np.float64)
    return average_ten_crop(probabilities) if tta == "tencrop" else probabilities


__all__ = ["classify", "concat_inputs", "face_inputs", "face_rotation", "face_side"]
