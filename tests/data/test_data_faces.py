"""fer_keras.data.faces: MTCNN on real FER2013 rows, the landmark cache, the fallback template,
alignment and MrCAR's region crops (checked with dots drawn at known landmark positions)."""

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fer_keras.data import DatasetError, DatasetRecord, load_dataset
from fer_keras.data import faces
from fer_keras.data.faces import (
    REGION_GEOMETRY,
    TEMPLATE,
    FaceLandmarks,
    align_face,
    alignment_matrix,
    detect_landmarks,
    landmarks_for_record,
    region_crops,
    region_crops_for_record,
)
from tests.helpers import ROOT
from tests.helpers.real_data import REAL, require_real

ROWS = 8


def real_rows_csv(folder, rows=ROWS):
    """The first `rows` rows of the real FER2013 file, as a small CSV in `folder`."""
    require_real()
    opener = gzip.open if REAL.suffix == ".gz" else open
    with opener(REAL, "rt") as f:
        lines = [next(f) for _ in range(rows + 1)]
    path = Path(folder) / "fer2013_head.csv"
    path.write_text("".join(lines))
    return path


def similarity(points, angle_deg, scale, shift):
    angle = np.deg2rad(angle_deg)
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return points @ rotation.T + np.asarray(shift)


def apply(matrix, points):
    return points @ matrix[:, :2].T + matrix[:, 2]


def dots_image(landmarks, shape, sigma=1.5):
    """uint8 image with a Gaussian dot centred exactly (sub-pixel) on each landmark: eyes in
    channel 0, nose in 1, mouth corners in 2 (pixel (i, j) is the point x = j, y = i, as in OpenCV)."""
    y, x = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros(shape, np.float64)
    for k, (px, py) in enumerate(landmarks):
        channel = 0 if k < 2 else 1 if k == 2 else 2
        image[..., channel] += 255 * np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sigma**2))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def blobs(channel, threshold=40):
    """Intensity-weighted centroids (x, y) of the bright blobs of a 2-D map, left to right."""
    import cv2

    count, labels = cv2.connectedComponents((channel > threshold).astype(np.uint8))
    y, x = np.mgrid[: channel.shape[0], : channel.shape[1]]
    weights = channel.astype(np.float64)
    centres = []
    for k in range(1, count):
        mask = labels == k
        centres.append([(weights * x)[mask].sum() / weights[mask].sum(), (weights * y)[mask].sum() / weights[mask].sum()])
    return np.asarray(sorted(centres, key=lambda c: c[0])).reshape(-1, 2)


def test_import_does_not_import_tensorflow():
    code = "import sys, fer_keras.data.faces; print(sorted(m for m in ('tensorflow', 'keras', 'mtcnn') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_mtcnn_on_real_rows_then_the_cache_is_reused_and_invalidated(tmp_path, monkeypatch):
    pytest.importorskip("mtcnn")
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    source = real_rows_csv(tmp_path)
    record = load_dataset("fer2013", source, cache=False)
    assert record.images.shape == (ROWS, 48, 48, 1)

    marks = landmarks_for_record(record)
    assert not marks.from_cache and Path(marks.cache_file).is_file()
    assert Path(marks.cache_file).parent == tmp_path  # beside the (writable) source
    assert marks.landmarks.shape == (ROWS, 5, 2) and marks.landmarks.dtype == np.float32
    assert marks.boxes.shape == (ROWS, 4) and marks.confidences.shape == (ROWS,) and marks.found.dtype == bool
    report = marks.report
    assert report["images"] == ROWS and report["found"] + report["fallback"] == ROWS
    assert report["found"] >= ROWS - 2, report  # 94.5% of the first 200 Training rows have a face
    found = marks.found
    for points, box, confidence in zip(marks.landmarks[found], marks.boxes[found], marks.confidences[found]):
        left_eye, right_eye, nose, mouth_left, mouth_right = points
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert (left_eye[1] + right_eye[1]) / 2 < nose[1] < (mouth_left[1] + mouth_right[1]) / 2
        assert (points >= 0).all() and (points <= 48).all()
        assert box[0] < points[:, 0].min() and points[:, 0].max() < box[2] and box[1] < points[:, 1].min()
        assert 0.7 <= confidence <= 1.0
    np.testing.assert_allclose(marks.landmarks[~marks.found], np.broadcast_to(TEMPLATE * 48, (ROWS - report["found"], 5, 2)))

    def no_detection(*args, **kwargs):
        raise AssertionError("the detector ran although the cache holds these landmarks")

    monkeypatch.setattr(faces, "detect_landmarks", no_detection)
    again = landmarks_for_record(load_dataset("fer2013", source, cache=False))
    assert again.from_cache and again.cache_file == marks.cache_file
    for name in ("boxes", "landmarks", "confidences", "found"):
        np.testing.assert_array_equal(getattr(again, name), getattr(marks, name))
    assert again.report == report

    calls = []

    def fake_detection(images, **kwargs):
        calls.append(len(images))
        n = len(images)
        return FaceLandmarks(np.zeros((n, 4), np.float32), np.broadcast_to(TEMPLATE * 48, (n, 5, 2)).astype(np.float32),
                             np.zeros(n, np.float32), np.zeros(n, bool), np.full((n, 2), 48))

    monkeypatch.setattr(faces, "detect_landmarks", fake_detection)
    subset = load_dataset("fer2013", source, cache=False)
    subset.images = subset.images[:5].copy()  # another subset of the same source: its own cache entry
    subset.labels = subset.labels[:5]
    assert not landmarks_for_record(subset).from_cache and calls == [5]
    stat = source.stat()
    source.write_text(source.read_text())  # same content, new modification time (a re-copied dataset)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    copied = landmarks_for_record(load_dataset("fer2013", source, cache=False))
    assert copied.from_cache and copied.cache_file == marks.cache_file and calls == [5]
    lines = source.read_text().splitlines()
    source.write_text("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n")  # new content: two rows swapped
    changed = landmarks_for_record(load_dataset("fer2013", source, cache=False))
    assert not changed.from_cache and changed.cache_file != marks.cache_file and calls == [5, ROWS]


def test_cache_without_source_file_and_in_a_read_only_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_KERAS_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_detection(images, **kwargs):
        calls.append(len(images))
        n = len(images)
        return FaceLandmarks(np.ones((n, 4), np.float32), np.full((n, 5, 2), 3, np.float32), np.ones(n, np.float32),
                             np.ones(n, bool), np.full((n, 2), 20))

    monkeypatch.setattr(faces, "detect_landmarks", fake_detection)
    images = np.random.default_rng(0).integers(0, 256, (6, 20, 20, 1), dtype=np.uint8)
    record = DatasetRecord("mine", images, np.zeros(6, np.int64), ("a",))  # source ""
    first = landmarks_for_record(record)
    assert Path(first.cache_file).parent == tmp_path / "cache" and calls == [6]
    assert landmarks_for_record(record).from_cache and calls == [6]
    record.images = images.copy()
    record.images[3, 5, 5, 0] ^= 1  # one pixel differs: a new key
    assert not landmarks_for_record(record).from_cache and calls == [6, 6]
    assert not landmarks_for_record(record, cache=False).from_cache and calls == [6, 6, 6]

    folder = tmp_path / "shared"
    folder.mkdir()
    source = folder / "data.bin"
    source.write_bytes(b"x")
    folder.chmod(0o555)
    try:
        record.source = str(source)
        marks = landmarks_for_record(record)
        assert Path(marks.cache_file).parent == tmp_path / "cache" and marks.cache_file.endswith(".npz")
        assert ".data.bin.landmarks." in marks.cache_file and not list(folder.glob(".*"))
    finally:
        folder.chmod(0o755)


def test_fallback_template_for_blank_images_is_used_and_counted():
    pytest.importorskip("mtcnn")
    blank_gray = np.zeros((48, 48, 1), np.uint8)
    blank_wide = np.full((40, 60, 3), 128, np.uint8)
    marks = detect_landmarks([blank_gray, blank_wide, blank_gray], progress=False)
    assert marks.found.tolist() == [False, False, False]
    assert marks.report == {"images": 3, "found": 0, "fallback": 3, "rejected": 0, "found_rate": 0.0}
    np.testing.assert_allclose(marks.landmarks[0], TEMPLATE * 48, atol=1e-5)
    np.testing.assert_allclose(marks.landmarks[1], TEMPLATE * [60, 40], atol=1e-5)  # x by width, y by height
    np.testing.assert_array_equal(marks.boxes[1], [0, 0, 60, 40])
    assert marks.confidences.tolist() == [0, 0, 0] and marks.sizes.tolist() == [[48, 48], [40, 60], [48, 48]]


def test_detections_parsed_most_confident_plausible_face_kept(monkeypatch):
    """A stand-in detector returning mtcnn 1.0's numpy rows: [image, x1, y1, x2, y2, conf, 5 x, 5 y]."""
    border = round(0.15 * 48)
    good = [0, 10, 8, 40, 46, 0.90, 15, 33, 24, 17, 31, 20, 20, 28, 38, 38]
    upside_down = [0, 10, 8, 40, 46, 0.99, 15, 33, 24, 17, 31, 38, 38, 28, 20, 20]
    weaker = [0, 12, 8, 40, 46, 0.80, 16, 32, 24, 18, 30, 21, 21, 28, 37, 37]
    only_bad = [2, 10, 8, 40, 46, 0.95, 33, 15, 24, 17, 31, 20, 20, 28, 38, 38]
    seen = {}

    class FakeMTCNN:
        def detect_faces(self, batch, **kwargs):
            seen.update(kwargs, shapes=[b.shape for b in batch])
            rows = np.array([weaker, upside_down, good, only_bad], float)
            rows[:, 1:5] += border
            rows[:, 6:16] += border
            return rows

    monkeypatch.setattr(faces, "get_detector", lambda device="CPU:0": FakeMTCNN())
    marks = detect_landmarks(np.zeros((3, 48, 48, 1), np.uint8), progress=False)
    assert seen["shapes"] == [(48 + 2 * border,) * 2 + (3,)] * 3  # padded, gray repeated to RGB
    assert seen["output_type"] == "numpy" and seen["box_format"] == "xyxy"
    assert marks.found.tolist() == [True, False, False] and marks.rejected == 1
    np.testing.assert_allclose(marks.landmarks[0], np.reshape(good[6:16], (2, 5)).T)
    np.testing.assert_allclose(marks.boxes[0], good[1:5])
    assert marks.confidences[0] == pytest.approx(0.90)
    assert marks.report["fallback"] == 2 and marks.report["rejected"] == 1


def test_align_face_maps_the_landmarks_onto_the_template():
    source = similarity(TEMPLATE * 100, angle_deg=25, scale=0.8, shift=(30, 12))  # a tilted face in a 160x160 image
    matrix = alignment_matrix(source, 64)
    np.testing.assert_allclose(apply(matrix, source), TEMPLATE * 64, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(matrix[:, :2]), (64 / 80) ** 2, rtol=1e-6)  # similarity, no reflection
    noisy = source + np.random.default_rng(0).normal(0, 1.0, source.shape)
    stacked = alignment_matrix(np.stack([source, noisy]), 64)
    assert stacked.shape == (2, 2, 3)
    np.testing.assert_allclose(stacked[0], matrix)
    np.testing.assert_allclose(apply(stacked[1], noisy), TEMPLATE * 64, atol=3.0)

    image = dots_image(source, (160, 160, 3))
    aligned = align_face(image, source, 64)
    assert aligned.shape == (64, 64, 3) and aligned.dtype == np.uint8
    np.testing.assert_allclose(blobs(aligned[..., 0]), TEMPLATE[:2] * 64, atol=0.25)
    np.testing.assert_allclose(blobs(aligned[..., 1]), TEMPLATE[2:3] * 64, atol=0.25)
    np.testing.assert_allclose(blobs(aligned[..., 2]), TEMPLATE[3:] * 64, atol=0.25)



def test_upright_alignment_is_the_least_squares_scale_and_shift_and_keeps_the_tilt():
    source = similarity(TEMPLATE * 100, angle_deg=25, scale=0.8, shift=(30, 12))
    matrix = alignment_matrix(source, 64, rotation=False)
    assert matrix[0, 1] == 0 and matrix[1, 0] == 0 and matrix[0, 0] == matrix[1, 1]
    # NumPy reference: minimise sum |s p + t - q|^2 over a scalar s and a shift t
    p, q = source - source.mean(0), TEMPLATE * 64 - (TEMPLATE * 64).mean(0)
    s = (p * q).sum() / (p * p).sum()
    np.testing.assert_allclose(matrix[0, 0], s, rtol=1e-6)
    np.testing.assert_allclose(matrix[:, 2], (TEMPLATE * 64).mean(0) - s * source.mean(0), atol=1e-5)
    eyes = apply(matrix, source)[:2]
    assert np.isclose(np.degrees(np.arctan2(*(eyes[1] - eyes[0])[::-1])), 25, atol=1e-6)  # still tilted
    aligned = align_face(dots_image(source, (160, 160, 3)), source, 64, rotation=False)
    np.testing.assert_allclose(blobs(aligned[..., 0]), eyes, atol=0.3)


def test_a_large_face_is_area_averaged_before_warping_not_aliased():
    """Shrinking 8x: fine stripes (period 2 pixels) must average to flat grey, not alias into
    stripes, and a smooth ramp must land where the matrix maps it (geometry unchanged)."""
    size, scale = 48, 1 / 8
    angle = np.deg2rad(10)
    matrix = scale * np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0]])
    matrix[:, 2] = [4.0, -20.0]
    y, x = np.mgrid[:480, :480]
    stripes = np.where(x % 2 == 0, 255, 0).astype(np.uint8)[..., None]
    flat = faces._warp(stripes, matrix, size, faces._border("replicate"))
    assert abs(float(flat.mean()) - 127.5) < 3 and flat.std() < 3  # bilinear alone: std > 100 (checked below)
    import cv2

    aliased = cv2.warpAffine(stripes, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert aliased.std() > 50
    ramp = (0.25 * x + 0.2 * y).astype(np.float64)  # 0 .. 216, linear: area averaging keeps it
    warped = faces._warp(np.round(ramp).astype(np.uint8)[..., None], matrix, size, faces._border("replicate"))
    inverse = cv2.invertAffineTransform(matrix)
    oy, ox = np.mgrid[:size, :size]
    sx, sy = (inverse[:, :2] @ np.stack([ox.ravel(), oy.ravel()]) + inverse[:, 2:]).reshape(2, size, size)
    inside = (sx > 8) & (sx < 470) & (sy > 8) & (sy < 470)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(warped[..., 0][inside], (0.25 * sx + 0.2 * sy)[inside], atol=1.5)
    small = np.array([[0.9, 0, 1], [0, 0.9, 2]])  # a mild shrink is left to bilinear warping alone
    image = np.random.default_rng(0).integers(0, 255, (60, 60, 1), dtype=np.uint8)
    np.testing.assert_array_equal(
        faces._warp(image, small, 40, cv2.BORDER_REPLICATE),
        cv2.warpAffine(image, small, (40, 40), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[..., None],
    )

def test_region_crops_put_eyes_and_mouth_where_the_geometry_says():
    size = 44
    source = similarity(TEMPLATE * 120, angle_deg=-15, scale=1.0, shift=(20, 30))
    image = dots_image(source, (180, 180, 3))
    crops = region_crops(image, source, size)
    assert set(crops) == {"face", "eyes", "mouth"}
    for crop in crops.values():
        assert crop.shape == (size, size, 3) and crop.dtype == np.uint8

    d = np.linalg.norm(TEMPLATE[1] - TEMPLATE[0]) * size  # inter-ocular distance in the aligned face
    eyes = REGION_GEOMETRY["eyes"]
    eye_y = eyes["above"] / (eyes["above"] + eyes["below"]) * size
    eye_dx = (d / 2) / (eyes["width"] * d) * size
    expected_eyes = [[size / 2 - eye_dx, eye_y], [size / 2 + eye_dx, eye_y]]
    np.testing.assert_allclose(blobs(crops["eyes"][..., 0]), expected_eyes, atol=0.3)
    assert crops["eyes"][..., 1:].max() < 40  # neither nose nor mouth in the eyes band

    mouth = REGION_GEOMETRY["mouth"]
    half_mouth = (TEMPLATE[4, 0] - TEMPLATE[3, 0]) / 2 * size
    mouth_dx = half_mouth / (mouth["width"] * d) * size
    mouth_y = mouth["above"] / (mouth["above"] + mouth["below"]) * size
    expected_mouth = [[size / 2 - mouth_dx, mouth_y], [size / 2 + mouth_dx, mouth_y]]
    np.testing.assert_allclose(blobs(crops["mouth"][..., 2]), expected_mouth, atol=0.3)
    assert crops["mouth"][..., 0].max() < 40  # no eye in the mouth band (the nose tip sits just above it)

    np.testing.assert_array_equal(crops["face"], align_face(image, source, size))
    assert len(blobs(crops["face"][..., 0])) == 2 and len(blobs(crops["face"][..., 2])) == 2


def test_region_crops_for_record_matches_single_images():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (5, 48, 48, 1), dtype=np.uint8)
    landmarks = TEMPLATE * 48 + rng.normal(0, 1.5, (5, 5, 2))
    record = DatasetRecord("toy", images, np.zeros(5, np.int64), ("a",))
    marks = FaceLandmarks(np.zeros((5, 4), np.float32), landmarks.astype(np.float32), np.ones(5, np.float32),
                          np.ones(5, bool), np.full((5, 2), 48))
    batched = region_crops_for_record(record, marks, 40)
    for region in ("face", "eyes", "mouth"):
        assert batched[region].shape == (5, 40, 40, 1) and batched[region].dtype == np.uint8
    single = region_crops(images[3], marks.landmarks[3], 40)
    for region in ("face", "eyes", "mouth"):
        np.testing.assert_array_equal(batched[region][3], single[region])
    empty = region_crops_for_record(images[:0], np.zeros((0, 5, 2)), 40)
    assert empty["eyes"].shape == (0, 40, 40, 1)


def test_clear_errors_for_wrong_inputs():
    image = np.zeros((48, 48, 1), np.uint8)
    points = TEMPLATE * 48
    with pytest.raises(ValueError, match=r"images: expected dtype uint8"):
        detect_landmarks(np.zeros((2, 48, 48, 1), np.float32))
    with pytest.raises(ValueError, match=r"images: expected an \(N, H, W, C\) array"):
        detect_landmarks(np.zeros((2, 48, 48), np.uint8))
    with pytest.raises(ValueError, match=r"image: expected an \(H, W, C\) array with C = 1 or 3, got \(48, 48, 2\)"):
        align_face(np.zeros((48, 48, 2), np.uint8), points, 44)
    with pytest.raises(ValueError, match=r"landmarks: expected shape \(5, 2\)"):
        region_crops(image, points[:4], 44)
    with pytest.raises(ValueError, match=r"landmarks: landmarks must be finite"):
        align_face(image, np.full((5, 2), np.nan), 44)
    with pytest.raises(ValueError, match=r"size: expected an int >= 2"):
        region_crops(image, points, 0)
    with pytest.raises(ValueError, match=r"landmarks: expected shape \(3, 5, 2\)"):
        region_crops_for_record(np.zeros((3, 48, 48, 1), np.uint8), np.zeros((2, 5, 2)), 44)
    with pytest.raises(ValueError, match=r"all five points coincide"):
        align_face(image, np.ones((5, 2)), 44)
    with pytest.raises(ValueError, match=r"border: expected one of"):
        region_crops(image, points, 44, border="wrap")
    with pytest.raises(DatasetError, match=r"record: expected a DatasetRecord"):
        landmarks_for_record(np.zeros((2, 48, 48, 1), np.uint8))
    with pytest.raises(ValueError, match=r"unknown option"):
        record = DatasetRecord("x", np.zeros((1, 48, 48, 1), np.uint8), np.zeros(1, np.int64), ("a",))
        landmarks_for_record(record, min_face=3)
