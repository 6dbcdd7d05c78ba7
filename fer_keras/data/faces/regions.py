"""MrCAR's three inputs: the aligned face and the eyes and mouth bands around the aligned
landmarks (`region_matrices` for the geometry, `region_crops` for one image,
`region_crops_for_record` for a dataset)."""

import sys

import numpy as np

from fer_keras.data.faces.align import _border, _warp, alignment_matrix
from fer_keras.data.faces.checks import _check_image, _check_images, _check_landmarks, _check_size, _check_template
from fer_keras.data.faces.landmarks import FaceLandmarks
from fer_keras.errors import ArgumentError

REGIONS = ("face", "eyes", "mouth")

# Region bands in units of the template's inter-ocular distance d (0.384 of the face's width),
# around the aligned landmarks: centred horizontally on the midpoint of the two eyes (of the two
# mouth corners), `width` wide, from `above` d above to `below` d below that midpoint.
REGION_GEOMETRY = {
    "eyes": {"width": 2.0, "above": 0.6, "below": 0.4},
    "mouth": {"width": 1.8, "above": 0.45, "below": 0.55},
}


def _check_geometry(geometry):
    geometry = REGION_GEOMETRY if geometry is None else geometry
    for region in ("eyes", "mouth"):
        spec = geometry.get(region) if isinstance(geometry, dict) else None
        if not isinstance(spec, dict) or set(spec) != {"width", "above", "below"}:
            raise ArgumentError("geometry", problem="expected {'eyes': {'width', 'above', 'below'}, 'mouth': {...}} (units of "
                                f"d), got {geometry!r}")
        if spec["width"] <= 0 or spec["above"] + spec["below"] <= 0:
            raise ArgumentError(f"geometry[{region!r}]", problem=f"the band must have a positive width and height, got {spec}")
    return geometry


def region_matrices(landmarks, size, template=None, geometry=None):
    """{"face", "eyes", "mouth"}: the (N, 2, 3) (or (2, 3) for one (5, 2) set) matrices taking
    image pixels to each (size, size) region crop.

    face: `alignment_matrix` (the aligned face). In that aligned frame, with d the template's
    inter-ocular distance (TEMPLATE: 0.384 * size) and the landmarks mapped by the face matrix:
    eyes: the rectangle `width` d wide centred on the eyes' midpoint, from `above` d above to
    `below` d below it (defaults 2.0 d x 1.0 d: 0.6 d above, 0.4 d below); mouth: the same around
    the mouth corners' midpoint (1.8 d x 1.0 d: 0.45 d above, 0.55 d below). Each rectangle is
    stretched to size x size, as MrCAR feeds the three regions at one input size.
    """
    size = _check_size(size)
    geometry = _check_geometry(geometry)
    template_points = _check_template(template)
    face = alignment_matrix(landmarks, size, template_points)
    single = face.ndim == 2
    face3 = face[None] if single else face
    points = np.asarray(landmarks.landmarks if isinstance(landmarks, FaceLandmarks) else landmarks, np.float64)
    points = points[None] if single else points
    aligned = np.einsum("nij,nkj->nki", face3[:, :, :2], points) + face3[:, None, :, 2]
    d = np.linalg.norm(template_points[1] - template_points[0]) * size
    result = {"face": face}
    for region, rows in (("eyes", slice(0, 2)), ("mouth", slice(3, 5))):
        spec = geometry[region]
        centre = aligned[:, rows].mean(axis=1)  # (N, 2)
        width, height = spec["width"] * d, (spec["above"] + spec["below"]) * d
        x0 = centre[:, 0] - width / 2
        y0 = centre[:, 1] - spec["above"] * d
        sx, sy = size / width, size / height
        crop = np.zeros((len(face3), 3, 3))
        crop[:, 0, 0], crop[:, 0, 2] = sx, -sx * x0
        crop[:, 1, 1], crop[:, 1, 2] = sy, -sy * y0
        crop[:, 2, 2] = 1.0
        face_h = np.concatenate([face3, np.broadcast_to([0.0, 0.0, 1.0], (len(face3), 1, 3))], axis=1)
        matrix = (crop @ face_h)[:, :2]
        result[region] = matrix[0] if single else matrix
    return result


def region_crops(image, landmarks, size, template=None, geometry=None, border="replicate"):
    """MrCAR's three inputs from one image: {"face", "eyes", "mouth"}, each (size, size, C) uint8
    (geometry: `region_matrices`)."""
    image = _check_image(image)
    matrices = region_matrices(_check_landmarks(landmarks), size, template, geometry)
    mode = _border(border)
    return {region: _warp(image, matrices[region], int(size), mode) for region in REGIONS}


def region_crops_for_record(record, landmarks, size, template=None, geometry=None, border="replicate"):
    """`region_crops` for every image: {"face", "eyes", "mouth"} of (N, size, size, C) uint8.

    record: a DatasetRecord or an (N, H, W, C) uint8 array; landmarks: FaceLandmarks (from
    `landmarks_for_record`) or an (N, 5, 2) array. Scale to [0, 1] (/ 255) for build_mrcar.
    """
    images = record.images if hasattr(record, "images") else record
    if not isinstance(images, np.ndarray):
        raise ArgumentError("record", problem="expected a DatasetRecord or an (N, H, W, C) uint8 array, got "
                            f"{type(record).__name__}")
    images = _check_images(images, "record.images" if hasattr(record, "images") else "record")
    points = _check_landmarks(landmarks, batch=len(images))
    size = _check_size(size)
    matrices = region_matrices(points, size, template, geometry) if len(images) else None
    mode = _border(border)
    out = {region: np.empty((len(images), size, size, images.shape[-1]), np.uint8) for region in REGIONS}
    for i in range(len(images)):
        image = images[i]
        for region in REGIONS:
            out[region][i] = _warp(image, matrices[region][i], size, mode)
    return out


def region_inputs(record, enabled=True):
    """MrCAR's {"face", "eyes", "mouth"} arrays for `record` (a DatasetRecord), at its images' own
    size, from cached MTCNN landmarks (`landmarks_for_record`; its report goes to stderr); None
    when not `enabled`."""
    if not enabled:
        return None
    from fer_keras.data.faces.cache import landmarks_for_record

    landmarks = landmarks_for_record(record)
    print(f"{record.name} {record.split}: MTCNN landmarks {landmarks.report}", file=sys.stderr)
    return region_crops_for_record(record, landmarks, max(record.images.shape[1:3]))


__all__ = ["REGIONS", "REGION_GEOMETRY", "region_crops", "region_crops_for_record", "region_matrices"]
