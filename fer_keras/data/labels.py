"""The canonical label space: FER2013's seven classes, in FER2013's order."""

CLASS_NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
