"""Cheap checks on dataset files before they are decoded or parsed whole.

`decode_image` is the one place image files are read (folder-per-class, CK+, JAFFE, SFEW, RAF-DB,
ExpW): the bytes are checked for truncation first (a JPEG without its end-of-image marker, a PNG
without its IEND chunk, a BMP shorter than its header says), because OpenCV decodes a truncated
JPEG with grey fill and only libjpeg's "Premature end of JPEG file" reaches stderr.
`read_csv_header` reads at most `HEADER_LIMIT` bytes to check a CSV's header line before pandas
reads the whole file. `parse_each` and `parse_lines` are the readers' one skip-bad loop: a row (a
file, a label-file line) that does not parse either raises or, with `skip_bad`, is counted.
"""

import bz2
import gzip
import lzma
import zipfile
import zlib
from pathlib import Path

import numpy as np

from fer_keras.errors import DatasetError

JPEG_START, JPEG_SOS, JPEG_EOI = b"\xff\xd8\xff", b"\xff\xda", b"\xff\xd9"
PNG_START, PNG_IEND = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"  # the IEND chunk's type and (constant) CRC
HEADER_LIMIT = 64 * 1024
OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def path_kind(path):
    """What `path` is when it exists but is neither a regular file nor a folder ("a named pipe
    (FIFO)", "a socket", "a character device", "a block device", "a broken symbolic link"), else None."""
    import stat

    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        return "a broken symbolic link" if path.is_symlink() else None
    for test, kind in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return None


def missing_file(path):
    """Why `path` is not a file to read, in a few words: "no such file", or what it is instead
    ("is a named pipe (FIFO), not a file", "is a folder, not a file", ...)."""
    path = Path(path)
    if path.is_dir():
        return "is a folder, not a file"
    kind = path_kind(path)
    return f"is {kind}, not a file" if kind else "no such file"


def image_problem(data):
    """Why the bytes of an image file are truncated or empty, or None when they look complete.

    JPEG: an end-of-image marker (FF D9) must follow the last start-of-scan marker (FF DA); the
    scan data cannot hold either (FF bytes in it are stuffed), so trailing padding or data after
    the image is accepted and a cut anywhere in the scan is not. PNG: the IEND chunk must be there.
    BMP: the file must be as long as its header states. Other formats are left to the decoder.
    """
    if not data:
        return "empty file"
    if data.startswith(JPEG_START):
        if data.rfind(JPEG_EOI) <= data.rfind(JPEG_SOS):
            return "truncated JPEG file (no end-of-image marker FF D9 after the image data)"
    elif data.startswith(PNG_START):
        if PNG_IEND not in data:
            return "truncated PNG file (no IEND chunk)"
    elif data.startswith(b"BM") and len(data) >= 6:
        stated = int.from_bytes(data[2:6], "little")
        if len(data) < stated:
            return f"truncated BMP file ({len(data)} of the {stated} bytes its header states)"
    return None


def read_image_bytes(path):
    """The bytes of image file `path`, checked with `image_problem`; raises DatasetError naming it."""
    kind = path_kind(path)  # a named pipe would block the read
    if kind:
        raise DatasetError(f"{path}: is {kind}, not an image file")
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read ({err.strerror or err})") from None
    problem = image_problem(data)
    if problem is not None:
        raise DatasetError(f"{path}: {problem}")
    return data


def decode_image(path, channels):
    """uint8 (H, W) grayscale (channels 1) or (H, W, 3) RGB image of file `path`; DatasetError if
    it is missing, truncated or not an image file OpenCV decodes."""
    import cv2

    data = read_image_bytes(path)
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if image is None:
        raise DatasetError(f"{path}: cannot be read as an image (missing, truncated or not an image file)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if channels == 3 else image


def _head(source, limit):
    """Up to `limit` + 1 bytes from the start of `source`, decompressed as pandas' "infer" would
    (.gz, .bz2, .xz, .zip); None for the other compressions pandas infers (.tar, .zst)."""
    name = source.name.lower()
    if ".tar" in source.suffixes or name.endswith((".tar", ".zst")):
        return None
    suffix = source.suffix.lower()
    try:
        if suffix in OPENERS:
            with OPENERS[suffix](source, "rb") as handle:
                return handle.read(limit + 1)
        if suffix == ".zip":
            with zipfile.ZipFile(source) as archive:
                members = archive.namelist()
                if len(members) != 1:
                    return None  # pandas reports a zip archive with several files itself
                with archive.open(members[0]) as handle:
                    return handle.read(limit + 1)
        with open(source, "rb") as handle:
            return handle.read(limit + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile) as err:
        kind = f"a {suffix[1:]}-compressed file" if suffix in (*OPENERS, ".zip") else "a file"
        raise DatasetError(f"{source}: cannot be read as {kind} ({err})") from None


def read_csv_header(source, columns, limit=HEADER_LIMIT):
    """Check CSV `source`'s header line, reading at most `limit` bytes: DatasetError naming the file
    when it is empty, has no line break in its first `limit` bytes (not a CSV: pandas would read
    it whole as one header) or its header lacks one of `columns`. Returns the header's fields
    (None when the compression is one this check does not open)."""
    source = Path(source)
    expected = ",".join(columns)
    head = _head(source, limit)
    if head is None:
        return None
    complete = len(head) <= limit
    body = head[:limit].removeprefix(b"\xef\xbb\xbf").lstrip()  # a UTF-8 BOM, blank lines
    if not body:
        what = "empty file (no header line, no rows)" if complete else f"its first {limit // 1024} KiB are blank"
        raise DatasetError(f"{source}: {what}; expected a CSV with the header '{expected}'")
    if source.suffix.lower() not in (*OPENERS, ".zip") and head.startswith(b"\x1f\x8b"):
        raise DatasetError(f"{source}: gzip-compressed data in a file whose name does not end in .gz; "
                           f"rename it to {source.name}.gz")
    ends = [i for i in (body.find(b"\n"), body.find(b"\r")) if i >= 0]
    if not ends and not complete:
        raise DatasetError(f"{source}: no line break in its first {limit // 1024} KiB, so not a CSV file; "
                           f"expected the header '{expected}'")
    line = body[: min(ends)] if ends else body
    fields = [f.strip().strip('"').strip() for f in line.decode("utf-8", errors="replace").split(",")]
    missing = [c for c in columns if c not in fields]
    if missing:
        raise DatasetError(f"{source}: missing column(s) {missing}; expected the header '{expected}'")
    return fields


def parse_each(items, parse, skip_bad, where=None):
    """(results, bad): `parse(item)` for each of `items`, the results that are not None (None:
    left out on purpose, e.g. another split) and how many items were bad.

    A DatasetError from `parse` is raised, prefixed with `where(item)` when given, or with
    `skip_bad` the item is left out and counted in `bad`.
    """
    results, bad = [], 0
    for item in items:
        try:
            result = parse(item)
        except DatasetError as err:
            if not skip_bad:
                if where is None:
                    raise
                raise DatasetError(f"{where(item)}: {err}") from None
            bad += 1
            continue
        if result is not None:
            results.append(result)
    return results, bad


def parse_lines(path, parse, skip_bad):
    """`parse_each` over the non-blank lines of text file `path`, as `parse(number, line)` (numbers
    from 1); an error is raised as "<path>: line <number>: <reason>"."""
    lines = [(number, line) for number, line in enumerate(Path(path).read_text().splitlines(), 1) if line.strip()]
    return parse_each(lines, lambda numbered: parse(*numbered), skip_bad, where=lambda numbered: f"{path}: line {numbered[0]}")


def columns(rows, count):
    """The `count` columns of `rows` (tuples) as lists: [(a, b), (c, d)] -> [a, c], [b, d]."""
    return tuple(list(column) for column in zip(*rows)) if rows else tuple([] for _ in range(count))
