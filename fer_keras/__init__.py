"""fer_keras: MIFAD-Net, MrCAR, AMDCNN and LBAN-IL for facial expression recognition, in Keras 3.

Sub-packages:
    fer_keras.layers  reusable attention, local-binary and margin layers
    fer_keras.losses  margin-softmax losses and center / island / islets losses

`import fer_keras` imports neither TensorFlow nor Keras; the sub-packages need only Keras 3 and
run on the TensorFlow, JAX and PyTorch backends.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
