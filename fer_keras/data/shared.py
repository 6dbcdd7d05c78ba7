"""Where a source checkout's maintainers keep the real datasets, defined once for the benchmarks,
experiments and tests: `../shared/data` beside the checkout (its README says what each is), or
$FER_KERAS_DATA; FER2013's file alone can also be pointed at with $FER2013_CSV (CI sets it to a
missing path to run the tests as a newcomer would). Nothing here is used by the library itself:
users pass their files to `--data`."""

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def shared_data(*parts):
    """Path of `parts` under the shared data folder ($FER_KERAS_DATA, else ../shared/data beside the
    checkout); it may not exist."""
    root = Path(os.environ.get("FER_KERAS_DATA", CHECKOUT.parent / "shared" / "data"))
    return root.joinpath(*parts)


def fer2013_csv():
    """The real FER2013 file: $FER2013_CSV, else shared_data("fer2013", "fer2013.csv.gz")."""
    return Path(os.environ.get("FER2013_CSV", shared_data("fer2013", "fer2013.csv.gz")))
