"""The real FER2013 file, for the tests that need it: one definition, one way to skip.

FER2013_CSV overrides the location (../shared/data/fer2013/fer2013.csv.gz beside the checkout);
a test that needs the file takes the `real_fer2013` fixture (tests/conftest.py) or calls
`require_real()`, and is skipped, never failed, when the file is not there.
"""

import pytest

from fer_keras.data.shared import fer2013_csv

REAL = fer2013_csv()


def skip_reason():
    return f"real FER2013 not found at {REAL} (set FER2013_CSV)"


def require_real():
    """The real FER2013 path, or skip the calling test."""
    if not REAL.is_file():
        pytest.skip(skip_reason())
    return REAL
