"""Rewrite the bundled FER2013 sample (fer_keras/assets/fer2013_sample.csv.gz) from a FER2013 file:
`per_class` random Training rows of each class (fer_keras.data.sample.make_sample).

    python experiments/tools/make_sample.py fer2013.csv.gz [--per-class 80]     (make sample DATA=...)
"""

import argparse

from fer_keras.data.sample import make_sample

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write the bundled FER2013 sample.")
    parser.add_argument("source", help="fer2013.csv or fer2013.csv.gz")
    parser.add_argument("--per-class", type=int, default=80)
    args = parser.parse_args()
    print(make_sample(args.source, per_class=args.per_class))
