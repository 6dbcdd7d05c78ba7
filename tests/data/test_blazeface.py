"""BlazeFace detection (fer_keras.data.faces.blazeface): anchors, decoding and weighted NMS against
direct NumPy readings of MediaPipe's calculators, and detection + alignment on photos built from
the bundled FER2013 sample's real faces."""

import numpy as np
import pytest

from fer_keras.data.faces import blazeface
from fer_keras.data.faces.blazeface import (
    BOX_CROP,
    box_landmarks,
    crop_boxes,
    decode,
    detect_faces_blazeface,
    fit_box_crop,
    five_points,
    letterbox,
    ssd_anchors,
    weighted_nms,
)
from fer_keras.data.sample import faces_on_canvas, sample_path
from fer_keras.errors import ArgumentError


@pytest.mark.parametrize("size, strides", [(128, (8, 16, 16, 16)), (256, (16, 32, 32, 32))])
def test_anchors_follow_mediapipes_ssd_generator(size, strides):
    anchors = ssd_anchors(size, strides)
    assert anchors.shape == (896, 2)  # 16x16 cells x 2 + 8x8 cells x 6, as the models' outputs
    fine, coarse = anchors[:512], anchors[512:]
    np.testing.assert_allclose(fine[:2], [[0.5 / 16, 0.5 / 16]] * 2)  # a cell's anchors together
    np.testing.assert_allclose(fine[2], [1.5 / 16, 0.5 / 16])  # then the next cell of the row
    np.testing.assert_allclose(coarse[:6], [[0.5 / 8, 0.5 / 8]] * 6)
    np.testing.assert_allclose(coarse[-1], [7.5 / 8, 7.5 / 8])


def test_decode_matches_a_per_anchor_reading():
    rng = np.random.default_rng(0)
    anchors = ssd_anchors(128, (8, 16, 16, 16))
    raw, scores = rng.normal(0, 20, (896, 16)).astype(np.float32), rng.normal(0, 50, (896, 1)).astype(np.float32)
    boxes, keypoints, probability = decode(raw, scores, anchors, 128)
    for a in (0, 100, 895):
        cx, cy = raw[a, 0] / 128 + anchors[a, 0], raw[a, 1] / 128 + anchors[a, 1]
        w, h = raw[a, 2] / 128, raw[a, 3] / 128
        np.testing.assert_allclose(boxes[a], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], rtol=1e-5, atol=1e-6)
        for k in range(6):
            np.testing.assert_allclose(keypoints[a, k], raw[a, 4 + 2 * k : 6 + 2 * k] / 128 + anchors[a], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(probability[a], 1 / (1 + np.exp(-np.clip(scores[a, 0], -80, 80))), rtol=1e-5)
    assert np.all(np.isfinite(probability))


def test_weighted_nms_merges_overlaps_by_score_and_keeps_the_rest():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    keypoints = np.arange(4 * 12, dtype=np.float32).reshape(4, 6, 2)
    scores = np.array([0.9, 0.6, 0.7, 0.2], np.float32)  # the last is under min_confidence
    kept, points, kept_scores = weighted_nms(boxes, keypoints, scores, 0.5, 0.3)
    np.testing.assert_allclose(kept_scores, [0.9, 0.7])
    np.testing.assert_allclose(kept[0], (0.9 * boxes[0] + 0.6 * boxes[1]) / 1.5, rtol=1e-6)
    np.testing.assert_allclose(points[0], (0.9 * keypoints[0] + 0.6 * keypoints[1]) / 1.5, rtol=1e-6)
    np.testing.assert_allclose(kept[1], boxes[2])
    empty = weighted_nms(boxes, keypoints, scores, 0.95, 0.3)
    assert [a.shape for a in empty] == [(0, 4), (0, 6, 2), (0,)]


def test_five_points_orders_the_eyes_and_places_the_mouth_corners():
    # BlazeFace's eyes come in the subject's order; a face seen in a mirror swaps them
    keypoints = np.array([[[70, 40], [30, 40], [50, 60], [50, 80], [10, 50], [90, 50]]], np.float32)
    points = five_points(keypoints)[0]
    np.testing.assert_allclose(points[:3], [[30, 40], [70, 40], [50, 60]])
    half = 40 * (0.659 - 0.341) / (0.692 - 0.308) / 2  # TEMPLATE's mouth width over eye distance
    np.testing.assert_allclose(points[3:], [[50 - half, 80], [50 + half, 80]], rtol=1e-4)


def test_fit_box_crop_recovers_the_numbers_that_made_the_crops():
    rng = np.random.default_rng(0)
    centre, side = rng.uniform(100, 400, (500, 2)), rng.uniform(40, 200, (500, 1))
    boxes = np.concatenate([centre - side / 2, centre + side / 2], axis=1)
    dx, dy, ratio = 0.03, -0.1, 1.25
    crops = crop_boxes(boxes, (dx, dy, ratio))
    np.testing.assert_allclose(crops[0, :2], centre[0] + np.array([dx, dy]) * side[0] - ratio * side[0] / 2)
    np.testing.assert_allclose(fit_box_crop(boxes, crops), (dx, dy, ratio), atol=1e-12)
    # zero-mean noise on each crop: the least-squares fit (the means) still lands on the numbers
    noisy_ratio = ratio * np.exp(rng.normal(0, 0.1, (500, 1)))
    noisy_ratio /= noisy_ratio.mean() / ratio
    noisy_centre = centre + np.array([dx, dy]) * side + rng.normal(0, 0.05, (500, 2)) * side
    noisy = np.concatenate([noisy_centre - noisy_ratio * side / 2, noisy_centre + noisy_ratio * side / 2], axis=1)
    np.testing.assert_allclose(fit_box_crop(boxes, noisy), (dx, dy, ratio), atol=0.01)
    with pytest.raises(ArgumentError, match="boxes"):
        fit_box_crop(boxes[:3], crops[:2])


@pytest.mark.parametrize("degrees", [0.0, 12.0, -25.0])
def test_box_landmarks_crop_the_fitted_square_upright_and_level_the_eyes_when_rotating(degrees):
    from fer_keras.data.faces import TEMPLATE, alignment_matrix

    box = np.array([[100.0, 80.0, 260.0, 240.0]])  # a 160-pixel box, centre (180, 160)
    angle = np.radians(degrees)
    eye = 30 * np.array([np.cos(angle), np.sin(angle)])
    keypoints = np.array([[180, 140] + eye, [180, 140] - eye, [180, 170], [180, 200], [110, 160], [250, 160]])[None]
    marks = box_landmarks(box, keypoints, (0.0, -0.1, 1.25))  # eyes in the subject's order (right first)
    (x1, y1, x2, y2), = crop_boxes(box, (0.0, -0.1, 1.25))
    assert (x2 - x1, (x1 + x2) / 2, (y1 + y2) / 2) == pytest.approx((200.0, 180.0, 144.0))
    # without rotation (FER2013 models): exactly the square, whatever the tilt
    upright = alignment_matrix(marks[0], 48, rotation=False)
    np.testing.assert_allclose(upright, [[48 / 200, 0, -48 * x1 / 200], [0, 48 / 200, -48 * y1 / 200]], atol=1e-4)
    if degrees == 0:
        np.testing.assert_allclose(marks[0], [x1, y1] + TEMPLATE * 200, atol=1e-3)
    # with rotation: the eye line comes out level
    turned = alignment_matrix(marks[0], 48, rotation=True)
    eyes = keypoints[0, :2] @ turned[:, :2].T + turned[:, 2]
    assert eyes[0, 1] == pytest.approx(eyes[1, 1], abs=1e-3)


def test_box_landmarks_stay_apart_for_a_face_on_its_side():
    from fer_keras.data.faces import alignment_matrix

    keypoints = np.array([[[50, 20], [50, 80], [40, 50], [30, 50], [50, 0], [50, 100]]], np.float32)  # eyes one above the other
    marks = box_landmarks(np.array([[0, 0, 100, 100]]), keypoints, (0.0, 0.0, 1.0))
    assert np.isfinite(alignment_matrix(marks[0], 48, rotation=True)).all()  # turned by at most MAX_TURN
    np.testing.assert_allclose(alignment_matrix(marks[0], 48, rotation=False), [[0.48, 0, 0], [0, 0.48, 0]], atol=1e-4)


def test_letterbox_maps_input_pixels_back_to_the_image():
    image = np.zeros((100, 300, 3), np.uint8)
    image[40:60, 200:220] = 255
    tensor, (scale, pad_x, pad_y) = letterbox(image, 128)
    assert tensor.shape == (128, 128, 3) and tensor.min() == -1.0 and tensor.max() == 1.0
    ys, xs = np.nonzero(tensor[..., 0] > 0)
    assert abs((xs.mean() - pad_x) / scale - 210) < 2 and abs((ys.mean() - pad_y) / scale - 50) < 2


def test_unknown_model_names_the_argument():
    with pytest.raises(ArgumentError, match="model='yolo'"):
        detect_faces_blazeface(np.zeros((64, 64, 3), np.uint8), model="yolo")
    with pytest.raises(ArgumentError, match="detector='yolo'"):
        blazeface.model_file("yolo")


@pytest.fixture(scope="module")
def sample_faces():
    from fer_keras.data import load_dataset

    return load_dataset("fer2013", sample_path(), split="Training").images[:6, :, :, 0]


@pytest.mark.parametrize("model", ["blazeface", "blazeface_back"])
def test_finds_every_face_of_a_photo_and_aligns_like_fer2013(sample_faces, model):
    from fer_keras.classify import face_inputs
    from fer_keras.models import build_model
    from fer_keras.recipes import load_recipe

    canvas, boxes = faces_on_canvas(sample_faces[:2])
    single, _ = faces_on_canvas(sample_faces[:1])
    one, two, none = detect_faces_blazeface([single, canvas, np.full((200, 200, 3), 128, np.uint8)], model=model)
    assert (len(one), len(two), len(none)) == (1, 2, 0)
    assert np.all(np.diff(two.confidences) <= 0) and two.confidences.min() >= 0.5
    for found, (x1, y1, x2, y2) in zip(sorted(two.boxes.tolist()), boxes):  # left face first
        assert x1 - 40 < found[0] < found[2] < x2 + 40 and y1 - 40 < found[1] < found[3] < y2 + 40
    assert two.sizes.tolist() == [list(canvas.shape[:2])] * 2 and two.settings["detector"] == model
    # Each face placed at FER2013's 48x48 without de-rotation resembles its original row (as MTCNN's
    # alignment does: median correlation ~0.71 for both over 61 sample faces, docs/architectures.md)
    recipe, amdcnn = load_recipe("amdcnn"), build_model("amdcnn")
    correlations = []
    for face in sample_faces:
        photo, _ = faces_on_canvas(face[None])
        marks = detect_faces_blazeface(photo, model=model)
        aligned = face_inputs(photo, marks, recipe, amdcnn)
        assert aligned.shape == (len(marks), 48, 48, 1)
        correlations += [np.corrcoef(aligned[0].ravel(), face.ravel().astype(float))[0, 1]] if len(marks) else []
    assert len(correlations) >= 5 and np.median(correlations) > 0.5


def test_the_fitted_box_crop_reproduces_fer2013s_framing_of_planted_faces():
    """BOX_CROP (fitted on FER2013 Training photos, experiments/probes/blazeface_calibration_probe.py)
    turns BlazeFace's box into the planted face's square: closer to it than the box itself, on
    photos of the bundled sample's faces built as that probe and benchmarks/inference.py build them."""
    from fer_keras.data import load_dataset

    def iou(a, b):
        w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
        inter = max(w, 0) * max(h, 0)
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    faces = load_dataset("fer2013", sample_path(), split="Training").images[:40, :, :, 0]
    crop, raw = [], []
    for face in faces:
        photo, (planted,) = faces_on_canvas(face[None])
        marks = detect_faces_blazeface(photo)
        if len(marks):
            crop.append(iou(crop_boxes(marks.boxes[:1], BOX_CROP["blazeface"])[0], planted))
            raw.append(iou(marks.boxes[0], planted))
            assert marks.settings["box_crop"] == list(BOX_CROP["blazeface"])
    assert len(crop) >= 35
    assert np.median(crop) > 0.72 and np.median(crop) > np.median(raw) + 0.05


def test_found_rate_on_photos_of_real_faces(sample_faces):
    """Short range finds nearly every planted face (benchmarks/inference.py measures it at scale)."""
    found = 0
    for k in range(0, 6, 2):
        canvas, _ = faces_on_canvas(sample_faces[k : k + 2])
        found += len(detect_faces_blazeface(canvas))
    assert found >= 5
