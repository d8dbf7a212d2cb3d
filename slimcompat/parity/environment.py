"""The numerics settings a parity run depends on: set them, record them, pick the tolerance.

TF32 (NVIDIA Ampere and later) rounds float32 matmul and conv inputs to a 10-bit
mantissa and is on by default in TensorFlow; a parity run switches it off unless
asked, because its error (around 1e-3 relative per layer) hides the differences
a float32 check is for. oneDNN (x86 CPUs) and op determinism change the order
of float sums, so they are recorded beside the versions and the device.

Tolerances are the relative error max |a - b| / max |a| an endpoint may show
(see metrics). CPU float32 is measured here (tests/test_parity.py: slim graph vs
faithful Keras, resnet_v2_50, every endpoint below 2e-6); the GPU values are
margins for cuDNN's algorithm choices (and, with TF32, its 10-bit mantissa)
that a GPU run of the same tests checks.
"""

import functools
import importlib.metadata
import os
import platform

__all__ = ["TOLERANCES", "tolerance", "configure", "record", "device_kind", "tf32_active", "tf32_label", "onednn",
           "cpu_model", "packages", "tensorflow_distribution"]

TOLERANCES = {
    "CPU float32": 1e-5,
    "GPU float32, TF32 off": 1e-4,
    "GPU float32, TF32 on": 1e-2,
    # PyTorch side (slimcompat.parity.torch_side), whole network cast to bfloat16: CPU measured worst 1.5e-2
    # (resnet_v2_50, Keras-1 ResNet50, resnext_50_32x4d at 64x64); the GPU value is the same margin, unmeasured.
    "CPU bfloat16": 5e-2,
    "GPU bfloat16": 5e-2,
}


def device_kind(device):
    return "GPU" if "GPU" in device.upper() else "CPU"


def tolerance(device, tf32):
    """(label, relative tolerance) for a device string such as 'CPU' or 'GPU:0'."""
    if device_kind(device) == "CPU":
        label = "CPU float32"
    else:
        label = f"GPU float32, TF32 {'on' if tf32 else 'off'}"
    return label, TOLERANCES[label]


def configure(tf32=False):
    """Set TF32 as asked (off by default) before anything runs."""
    import tensorflow as tf
    tf.config.experimental.enable_tensor_float_32_execution(bool(tf32))


def tf32_active():
    """Whether TF32 rounds this process's float32 math: switched on, and a GPU to do it."""
    import tensorflow as tf
    return bool(tf.config.list_physical_devices("GPU")) and \
        bool(tf.config.experimental.tensor_float_32_execution_enabled())


def tf32_label():
    """TF32 for people: 'not applicable (no GPU)', 'on' or 'off'."""
    import tensorflow as tf
    if not tf.config.list_physical_devices("GPU"):
        return "not applicable (no GPU)"
    return "on" if tf32_active() else "off"


def onednn():
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 CPU builds)")


def _determinism():
    try:
        from tensorflow.python.framework import config
        return bool(config.is_op_determinism_enabled())
    except (ImportError, AttributeError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _device_description(device):
    import tensorflow as tf
    if device_kind(device) == "CPU":
        return f"{cpu_model()} ({os.cpu_count()} cores)"
    index = int(device.split(":")[1]) if ":" in device else 0
    gpus = tf.config.list_physical_devices("GPU")
    if index >= len(gpus):
        return "not visible"
    details = tf.config.experimental.get_device_details(gpus[index])
    return f"{details.get('device_name', gpus[index].name)} (compute capability {details.get('compute_capability')})"


_PACKAGES = ("keras", "tf-keras", "tf-slim", "h5py", "numpy")


@functools.lru_cache(maxsize=None)
def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def tensorflow_distribution():
    """[(distribution, version)] installed that provide the `tensorflow` module (normally one).

    Read once per process: scanning the installed distributions takes tens of ms,
    a tenth of a small parity run.
    """
    names = importlib.metadata.packages_distributions().get("tensorflow", [])
    found = []
    for name in dict.fromkeys(names):
        dist = importlib.metadata.distribution(name)
        found.append((dist.metadata["Name"].replace("_", "-").lower(), dist.version))
    return tuple(found)


def packages():
    """{package: version or None}; `tensorflow` is the version of whichever distribution provides it."""
    providers = tensorflow_distribution()
    return {"tensorflow": providers[0][1] if providers else None, **{name: _version(name) for name in _PACKAGES}}


def record(device):
    """JSON-ready facts of this run: versions, device, TF32, oneDNN, determinism (as `slimcompat doctor`)."""
    import tensorflow as tf
    return {
        "packages": {name: v for name, v in packages().items() if v},
        "tensorflow_distribution": [name for name, _ in tensorflow_distribution()],
        "tensorflow_runtime": tf.__version__,
        "python": platform.python_version(),
        "device": device,
        "device_description": _device_description(device),
        "gpus_visible": [g.name for g in tf.config.list_physical_devices("GPU")],
        "tf32": tf32_active(),
        "tf32_state": tf32_label(),
        "onednn": onednn(),
        "op_determinism": _determinism(),
    }
