"""What this machine computes with: a GPU (`gpu_available`), a CPU with native bfloat16
(`native_bfloat16_flags`), and the Keras dtype policy a recipe's training.mixed_precision picks
on it (`precision_policy`)."""

from fer_keras.errors import RecipeError


def gpu_available():
    """Whether the Keras backend sees a GPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def native_bfloat16_flags():
    """The CPU flags of native bfloat16 this machine reports (amx_bf16, avx512_bf16 in /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return sorted(set(line.split(":", 1)[1].split()) & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return []


def cpu_has_native_bfloat16():
    """Whether this CPU computes bfloat16 natively (AMX-BF16 or AVX-512 BF16)."""
    return bool(native_bfloat16_flags())


def precision_policy(setting):
    """The Keras dtype policy for the recipe's training.mixed_precision.

    "auto": "mixed_float16" on a GPU, else "float32". "cpu_bfloat16": the same, except
    "mixed_bfloat16" on a CPU that computes bfloat16 natively (AMX / AVX-512 BF16), for recipes it was
    measured to pay for (benchmarks/results/training_precision.json: LBAN-IL 2.1x, AMDCNN with dense
    heads 1.3x, MrCAR nothing) and to train alike (experiments/probes/precision_probe.py). true: "mixed_float16";
    false: "float32"; "mixed_bfloat16", "mixed_float16" or "float32" as named.
    """
    if setting in ("auto", None):
        return "mixed_float16" if gpu_available() else "float32"
    if setting == "cpu_bfloat16":
        if gpu_available():
            return "mixed_float16"
        return "mixed_bfloat16" if cpu_has_native_bfloat16() else "float32"
    if setting is True or setting == "mixed_float16":
        return "mixed_float16"
    if setting is False or setting == "float32":
        return "float32"
    if setting == "mixed_bfloat16":
        return "mixed_bfloat16"
    raise RecipeError("training.mixed_precision must be auto, cpu_bfloat16, true/false, mixed_float16, mixed_bfloat16 "
                      f"or float32, got {setting!r}")


__all__ = ["cpu_has_native_bfloat16", "gpu_available", "native_bfloat16_flags", "precision_policy"]
