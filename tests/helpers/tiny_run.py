"""Tiny runs that learn in seconds: a folder dataset a small AMDCNN learns (happy: a bright blob in
the top half; sad: in the bottom half) and that AMDCNN's recipe, as a Recipe and as
`fer-keras train amdcnn` flags."""

import numpy as np

# amdcnn's FER2013 recipe on 28x28 crops of the folder dataset, with the head weighting the first
# tests were written against (every loss weight 1, weights on all) and float32 on CPU
SMALL_OVERRIDES = [
    "data.dataset=folder", "data.train=train", "data.validation=val", "data.test=null",
    "model.input_shape=[28, 28, 1]", "model.options={attention: cbam, num_aux: 1}",
    "pipeline.input_size=[28, 28]", "pipeline.batch_size=16", "pipeline.augmentation={horizontal_flip: true}",
    "optimizer.learning_rate=0.003",
    "loss.aux_weight=1.0", "loss.sample_weights_on=all",
    "training.mixed_precision=auto",  # float32 on CPU, whatever the recipe's CPU precision
]
SMALL_SETS = [arg for override in SMALL_OVERRIDES for arg in ("--set", override)]  # as CLI flags


def write_learnable_folders(root, per_class, rng, size=32):
    """happy: a bright blob in the top half; sad: in the bottom half; noise elsewhere."""
    import cv2

    for split, n in per_class.items():
        for label, rows in (("happy", (4, size // 2 - 4)), ("sad", (size // 2 + 4, size - 4))):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                image = rng.integers(0, 90, (size, size), dtype=np.uint8)
                cv2.circle(image, (int(rng.integers(6, size - 6)), int(rng.integers(*rows))), 4, 255, -1)
                cv2.imwrite(str(folder / f"{i:03d}.png"), image)


def small_recipe(epochs, extra=()):
    """The small AMDCNN recipe for `epochs` epochs, then the `extra` overrides."""
    from fer_keras.recipes import load_recipe

    return load_recipe("amdcnn", overrides=[*SMALL_OVERRIDES, f"training.epochs={epochs}", *extra])
