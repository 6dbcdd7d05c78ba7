"""Folder-per-class images: `<root>/[<split>/]<class>/*.{jpg,jpeg,png,bmp,tif,tiff}`.

Used for users' own data and for releases laid out that way (FER2013's image-folder release:
`train/<class>/*.jpg`, `test/<class>/*.jpg`). Folder names that are expression names (including
common spellings such as "anger", "happiness", "sadness") map onto the canonical seven classes
in FER2013's order (plus "contempt" when present); any other set of folder names becomes the
classes in sorted order.
"""

import sys
from collections import Counter
from pathlib import Path

import numpy as np

from fer_keras.data.files import decode_image
from fer_keras.data.labels import CLASS_NAMES, CLASS_NAMES_CONTEMPT
from fer_keras.data.record import DatasetRecord
from fer_keras.errors import DatasetError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
ALIASES = {
    "angry": "angry", "anger": "angry", "an": "angry",
    "disgust": "disgust", "disgusted": "disgust", "di": "disgust",
    "fear": "fear", "fearful": "fear", "fe": "fear",
    "happy": "happy", "happiness": "happy", "ha": "happy",
    "sad": "sad", "sadness": "sad", "sa": "sad",
    "surprise": "surprise", "surprised": "surprise", "su": "surprise",
    "neutral": "neutral", "ne": "neutral",
    "contempt": "contempt",
}


def canonical_label(name):
    """Index of expression `name` (any ALIASES spelling) in CLASS_NAMES + ("contempt",), or None."""
    canonical = ALIASES.get(name.lower())
    return None if canonical is None else CLASS_NAMES_CONTEMPT.index(canonical)


def class_names_for(folders):
    """The class list for these folder names and the folder -> label mapping."""
    canonical = {f: ALIASES.get(f.lower()) for f in folders}
    if all(canonical.values()):
        names = list(CLASS_NAMES) + (["contempt"] if "contempt" in canonical.values() else [])
        return tuple(names), {f: names.index(c) for f, c in canonical.items()}
    names = sorted(folders)
    return tuple(names), {f: i for i, f in enumerate(names)}


def read_image(path, channels, size):
    """uint8 (H, W, channels) image, resized to `size` (H, W) when given; raises DatasetError
    (missing, truncated or undecodable file: `fer_keras.data.files.decode_image`)."""
    import cv2

    image = decode_image(path, channels)
    if size is not None and image.shape[:2] != tuple(size):
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return image.reshape(*image.shape[:2], channels)


def _odd_size(files, sizes):
    """DatasetError naming the first image whose (H, W) differs from the most common one (ties:
    the size seen first), with both sizes and how many images differ."""
    counts = Counter(sizes)
    common = max(counts, key=lambda s: (counts[s], -sizes.index(s)))
    odd = [i for i, s in enumerate(sizes) if s != common]
    others = f"; {len(odd)} images differ" if len(odd) > 1 else ""
    return DatasetError(
        f"{files[odd[0]]}: size {sizes[odd[0]]} (H, W) differs from the size {common} of {counts[common]} of the "
        f"{len(sizes)} images (e.g. {files[sizes.index(common)]}){others}; pass image_size=(H, W) to resize"
    )


def read_images(files, channels=1, image_size=None, skip_bad=False):
    """Read `files` with `read_image`: (images (N, H, W, C) uint8, kept, skipped), `kept` the
    indices of the files read. Unreadable files raise, or with `skip_bad` are left out and counted;
    without `image_size` all images must share one size (else the odd one is named)."""
    images, kept = [], []
    for i, file in enumerate(files):
        try:
            image = read_image(file, channels, image_size)
        except DatasetError:
            if not skip_bad:
                raise
            continue
        images.append(image)
        kept.append(i)
    sizes = [image.shape[:2] for image in images]
    if len(set(sizes)) > 1:
        raise _odd_size([files[i] for i in kept], sizes)
    empty = np.zeros((0, *(image_size or (0, 0)), channels), np.uint8)
    return (np.stack(images) if images else empty), np.asarray(kept, np.int64), len(files) - len(kept)


def image_record(name, files, labels, channels, image_size, skip_bad, skipped=0, subjects=None, per_sample=None,
                 extra=None, class_names=CLASS_NAMES, **fields):
    """A DatasetRecord of image `files` (read with `read_images`) and their `labels`.

    `subjects` and the `per_sample` lists ({key: one str per file}, into `extra`) are kept for the
    files read; `extra["paths"]` lists those files, followed by `per_sample` and `extra`.
    `record.skipped` is `skipped` (rows left out before reading) plus the unreadable files.
    `fields` (source, split) go to DatasetRecord as they are.
    """
    images, kept, unreadable = read_images(files, channels, image_size, skip_bad)
    return DatasetRecord(
        name=name,
        images=images,
        labels=np.asarray(labels, np.int64)[kept],
        class_names=class_names,
        subjects=None if subjects is None else np.asarray(subjects, str)[kept],
        skipped=skipped + unreadable,
        extra={
            "paths": [str(files[i]) for i in kept],
            **{key: np.asarray(values, str)[kept] for key, values in (per_sample or {}).items()},
            **(extra or {}),
        },
        **fields,
    )


def load_folder(path, split=None, channels=1, image_size=None, skip_bad=False, name="folder"):
    """Images in class folders as a DatasetRecord.

    Args:
        path: the root folder.
        split: a sub-folder of `path` to read (e.g. "train", "test"), or None for `path` itself.
        channels: 1 (grayscale) or 3 (RGB).
        image_size: (H, W) to resize to; None requires all images to share one size.
        skip_bad: skip unreadable images (counted in `record.skipped`) instead of raising.

    `record.extra["paths"]` lists each sample's source file, `record.extra["ignored"]` the entries
    not read (other file types such as .gif, broken links, files beside the class folders; hidden
    ones aside), which a note on stderr counts.
    """
    root = Path(path) / split if split else Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected <class>/<images> folders)")
    folders, ignored = class_folders(root)
    if not folders:
        raise DatasetError(f"{root}: no class folders found (expected {root}/<class>/<image files>)")
    class_names, label_of = class_names_for([folder.name for folder in folders])
    files, labels = [], []
    for folder in folders:
        found, other = folder_images(folder)
        if not found:
            raise DatasetError(f"{folder}: empty class folder (no {', '.join(sorted(IMAGE_SUFFIXES))} files)")
        files += found
        labels += [label_of[folder.name]] * len(found)
        ignored += other
    return image_record(name, files, labels, channels, image_size, skip_bad, class_names=class_names,
                        source=str(root), split=split, extra={"ignored": report_ignored(root, ignored)})


def class_folders(root):
    """(the class folders in `root`, sorted; the other entries: files, broken links). Hidden
    entries (.DS_Store, .cache) are neither."""
    entries = sorted(p for p in Path(root).iterdir() if not p.name.startswith("."))
    return [p for p in entries if p.is_dir()], [p for p in entries if not p.is_dir()]


def folder_images(folder):
    """(the image files in `folder`, sorted, by IMAGE_SUFFIXES; the other entries, hidden ones
    left out: other file types such as .gif, sub-folders, links to nothing)."""
    entries = sorted(Path(folder).iterdir())
    images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
    return images, [p for p in entries if p.suffix.lower() not in IMAGE_SUFFIXES and not p.name.startswith(".")]


def report_ignored(root, paths):
    """The entries of dataset folder `root` that a reader does not read, for `record.extra["ignored"]`
    (a tuple of str: not one item per sample), after a one-line note on stderr counting them by kind."""
    if not paths:
        return ()
    kinds = {}
    for path in paths:
        kind = ("broken links" if path.is_symlink() and not path.exists() else "folders" if path.is_dir()
                else f"{path.suffix.lower() or 'suffix-less'} files")
        kinds.setdefault(kind, []).append(path.name)
    parts = [f"{len(names)} {kind} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})" for kind, names in kinds.items()]
    print(f"note: {root}: {len(paths)} entries not read (not {'/'.join(sorted(IMAGE_SUFFIXES))} images in class "
          f"folders): {'; '.join(parts)}", file=sys.stderr)
    return tuple(str(path) for path in paths)
