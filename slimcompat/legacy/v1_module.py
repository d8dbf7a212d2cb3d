"""A `tensorflow` module that answers TF1 code with the v1 API.

TF1 programs write `import tensorflow as tf` and then `tf.Session`,
`tf.placeholder`, `tf.contrib.slim`. To run them unmodified, `sys.modules
['tensorflow']` is replaced by this module: code that is not TensorFlow's own
or a v2-native library sees `tf.compat.v1` (plus `tf.contrib`); Keras,
tf-keras and TensorFlow itself, which also `import tensorflow`, keep seeing the
real v2 module. The choice is made per attribute lookup from the caller's
module name, so a library imported later by the legacy script still works.
"""

import importlib
import sys
import types

__all__ = ["V1Module", "V2_NATIVE"]

# Top-level packages that expect the real v2 `tensorflow` module.
V2_NATIVE = frozenset({
    "tensorflow", "keras", "tf_keras", "tf_slim", "slimcompat", "tensorboard",
    "tensorflow_probability", "tensorflow_hub", "tensorflow_datasets", "tensorflow_text",
    "tensorflow_addons", "tensorflow_estimator", "tensorflow_io", "tf2onnx", "h5py",
    "importlib", "pytest", "_pytest", "pkgutil", "inspect", "unittest", "typing",
})

# Our own modules kept in TF1 form on purpose (the example program), v1 even when imported.
V1_INSIDE = ("slimcompat.examples.",)


class V1Module(types.ModuleType):
    """Stands in for the real `tensorflow` in sys.modules (see module doc)."""

    def __init__(self, real):
        super().__init__(real.__name__, real.__doc__)
        for dunder in ("__path__", "__file__", "__spec__", "__loader__", "__package__", "__version__"):
            if hasattr(real, dunder):
                self.__dict__[dunder] = getattr(real, dunder)
        self.__dict__["_slimcompat_real"] = real
        self.__dict__["_slimcompat_v1"] = importlib.import_module("tensorflow.compat.v1")

    def __getattr__(self, name):
        caller = sys._getframe(1).f_globals.get("__name__", "") or ""
        native = caller.partition(".")[0] in V2_NATIVE and not caller.startswith(V1_INSIDE)
        if native or name.startswith("__"):
            return getattr(self._slimcompat_real, name)
        if name == "contrib":
            return importlib.import_module("tensorflow.contrib")
        try:
            return getattr(self._slimcompat_v1, name)
        except AttributeError:
            return getattr(self._slimcompat_real, name)

    def __dir__(self):
        return sorted(set(dir(self._slimcompat_v1)) | {"contrib"})
