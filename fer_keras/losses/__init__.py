"""Losses from the four FER papers (backend-neutral: keras.ops only).

Margin-softmax losses are `keras.losses.Loss` objects on cosine logits:

    model.compile(loss=ArcFaceLoss(scale=30, margin=0.5))   # head: fer_keras.layers.CosineDense

Center-type losses hold class centers updated by the papers' rule, so they are layers on the
feature vector that take the labels as a second input (see fer_keras.losses.center):

    features = IsletsLoss(num_classes=7)([features, labels])
"""

from fer_keras.losses.center import CenterLoss, IslandLoss, IsletsLoss
from fer_keras.losses.margin import AMSoftmaxLoss, ArcFaceLoss
from fer_keras.losses.smoothing import LabelSmoothingCrossentropy

__all__ = ["AMSoftmaxLoss", "ArcFaceLoss", "CenterLoss", "IslandLoss", "IsletsLoss", "LabelSmoothingCrossentropy"]
