"""The canonical label space: FER2013's seven classes, in FER2013's order."""

CLASS_NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# FERPlus and CK+ add contempt as an eighth class, after the canonical seven.
CLASS_NAMES_CONTEMPT = CLASS_NAMES + ("contempt",)
