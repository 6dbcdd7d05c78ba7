"""Face detection, 5-point alignment and MrCAR's region crops (face, eyes band, mouth band).

    from fer_keras.data import load_dataset
    from fer_keras.data.faces import landmarks_for_record, region_crops_for_record
    train = load_dataset("fer2013", "fer2013.csv.gz", split="Training")
    marks = landmarks_for_record(train)            # MTCNN once, then read from the .npz cache
    marks.report                                   # {"images": 28709, "found": ..., "fallback": ...}
    regions = region_crops_for_record(train, marks, 44)   # {"face", "eyes", "mouth"}: (N, 44, 44, 1) uint8

Detection uses the `mtcnn` package (its P/R/O-Net weights ship inside it); it imports TensorFlow, so
it is imported inside the functions that run it, never at module import. Each image gets the most
confident face's box, confidence and five landmarks, in this order and as (x, y) pixel coordinates:
left eye, right eye, nose, left mouth corner, right mouth corner ("left" = smaller x, the image's
left). Images where no plausible face is found get `TEMPLATE` scaled to the image size (pre-cropped,
roughly aligned faces such as FER2013's sit close to it), are marked in `found` and counted in
`report`: nothing is dropped. Callers who prefer the paper's choice ("MTCNN ... to remove parts
without faces") select `images[marks.found]`.

Small images: FER2013's 48x48 crops show the face filling the frame, larger than MTCNN's image
pyramid reaches. Each image is padded by `pad` (15% of its short side) with black on every side
before detection, which adds the larger windows; stage thresholds are lowered from mtcnn's (0.6,
0.7, 0.8) to (0.5, 0.6, 0.7), since every image is expected to hold a face. Upscaling did not help
(docs/architectures.md, "Faces and MrCAR regions", has the measurements). Images are sent to
MTCNN in batches (`batch_size`), which is ~20x faster per image than one at a time.

Photos (`detect_faces`): every face of each image, with mtcnn's own stage thresholds (0.6, 0.7,
0.8), a minimum confidence and large images shrunk for detection (`PHOTO_DEFAULTS`); an image
without a face gives an empty result (no template fallback). `fer-keras predict` uses it.

Alignment is the least-squares similarity (rotation, uniform scale, translation; no reflection)
taking the five landmarks onto `TEMPLATE` at the output size. Region geometry is in
`REGION_GEOMETRY`, in units of the template's inter-ocular distance, see `region_matrices`.

The package's modules, each importable on its own (none imports TensorFlow at import):
    landmarks.py  LANDMARK_NAMES, TEMPLATE and FaceLandmarks, the result of every detection
    checks.py     argument checks shared by the others
    detect.py     get_detector, detect_landmarks, detect_faces (one batched MTCNN generator)
    blazeface.py  detect_faces_blazeface (BlazeFace, `fer-keras predict`'s default detector)
    cache.py      landmarks_cache_file, landmarks_for_record
    crop.py       crop_faces (aligned face crops of portrait datasets such as JAFFE, for their readers)
    align.py      alignment_matrix, align_face (and the warp, area-averaging large faces first)
    regions.py    REGION_GEOMETRY, region_matrices, region_crops, region_crops_for_record
Everything is re-exported here; module-level settings that callers may replace (MAX_WARP_SHRINK,
get_detector, detect_landmarks) are read through this package at each call, so that
`fer_keras.data.faces.MAX_WARP_SHRINK = 0.0` (or a monkeypatch of it) takes effect.
"""

from fer_keras.data.faces.align import BORDERS, MAX_WARP_SHRINK, _border, _shrink_first, _warp, align_face, alignment_matrix
from fer_keras.data.faces.blazeface import BLAZEFACE_DEFAULTS, detect_faces_blazeface
from fer_keras.data.faces.cache import CACHE_VERSION, _load_cache, landmarks_cache_file, landmarks_for_record
from fer_keras.data.faces.crop import crop_faces
from fer_keras.data.faces.detect import DETECTOR_DEFAULTS, PHOTO_DEFAULTS, detect_faces, detect_landmarks, get_detector
from fer_keras.data.faces.landmarks import LANDMARK_NAMES, TEMPLATE, FaceLandmarks
from fer_keras.data.faces.regions import REGION_GEOMETRY, REGIONS, region_crops, region_crops_for_record, region_matrices

# Settings and internals that tests and benchmarks read or replace on this package (not in __all__).
_INTERNALS = (MAX_WARP_SHRINK, CACHE_VERSION, _border, _load_cache, _shrink_first, _warp)

__all__ = [
    "BLAZEFACE_DEFAULTS",
    "BORDERS",
    "DETECTOR_DEFAULTS",
    "FaceLandmarks",
    "LANDMARK_NAMES",
    "PHOTO_DEFAULTS",
    "REGIONS",
    "REGION_GEOMETRY",
    "TEMPLATE",
    "align_face",
    "alignment_matrix",
    "crop_faces",
    "detect_faces",
    "detect_faces_blazeface",
    "detect_landmarks",
    "get_detector",
    "landmarks_cache_file",
    "landmarks_for_record",
    "region_crops",
    "region_crops_for_record",
    "region_matrices",
]
