"""The ONNX format: tf2onnx on the serving tf.function (as Keras 3's own ONNX export does), the
contract in the metadata_props; and its runner (ONNX Runtime) for `fer_keras.export.load_exported`.
tf2onnx, onnx and onnxruntime are optional (pip install 'fer_keras[export]')."""

import json

from fer_keras.errors import ExportError
from fer_keras.export.signature import OUTPUT, contract, serving_function


def _needs_onnx(*modules):
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError("fmt", "onnx", f"needs {', '.join(missing)}; install them with pip install 'fer_keras[export]'")


def _export_onnx(trained, out, opset=None):
    _needs_onnx("tf2onnx", "onnx")
    import onnx
    import tf2onnx

    model = trained.model
    try:  # what Keras' own ONNX export applies first (numpy >= 2 fixes in tf2onnx's constant folding)
        from keras.src.export.tf2onnx_lib import patch_tf2onnx

        patch_tf2onnx()
    except ImportError:
        pass
    serve = serving_function(model)
    proto, _ = tf2onnx.convert.from_function(serve, list(serve.input_signature), opset=opset)
    missing = sorted({node.op_type for node in proto.graph.node if not onnx.defs.has(node.op_type, node.domain or "")})
    if missing:  # tf2onnx leaves a TensorFlow op it cannot convert in the graph, under its TensorFlow name
        raise ExportError("fmt", "onnx", f"{trained.name} does not convert: TensorFlow op(s) {', '.join(missing)} have "
                          f"no ONNX conversion in tf2onnx {tf2onnx.__version__}")
    for key, value in contract(trained).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f"fer_keras.{key}", value if isinstance(value, str) else json.dumps(value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    opsets = {o.domain or "ai.onnx": o.version for o in proto.opset_import}
    return {"opset": opsets.get("ai.onnx"), "tf2onnx": tf2onnx.__version__}


def runner(path, threads=None):
    """(input names, run, session) for an .onnx file on ONNX Runtime's CPU provider: run({name:
    float32 array}) -> (N, classes) probabilities; `threads` limits its intra-op threads."""
    _needs_onnx("onnxruntime")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return names, lambda named: session.run([OUTPUT], named)[0], session
