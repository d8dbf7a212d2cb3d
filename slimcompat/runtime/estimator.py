"""Repairs that make the last tensorflow-estimator release (2.15.0) work on TensorFlow 2.16+.

TF 2.16 dropped `tf.estimator`, and the internals tensorflow-estimator imports
with it: it fails at import on `tensorflow.python.distribute.estimator_training`.
TF1-era programs (a `model_fn` with `tf.layers`, `numpy_input_fn`,
`export_savedmodel`, premade `DNNClassifier`) still need it, so it is served
the way tf-slim is: the released package as it is, plus a repair for each
thing TensorFlow removed, declared here as data and applied by
slimcompat.runtime.repairs (detected by feature, at most once, listed by
`slimcompat doctor`):

- MODULES: internals it imports at top level. The distribute coordinator's
  hooks are served by slimcompat.runtime.estimator_training (training on one
  machine needs nothing from it); the TPU-only ones import and fail in one
  line when called.
- EXPORT_API: the `estimator` API name that its `estimator_export` decorator
  registers under.
- API: `tf.estimator`, `tf.compat.v1.estimator`, `tf.compat.v2.estimator`,
  bound lazily to the package's own API modules as TF 2.15 bound them.

Each applies only where tensorflow-estimator is installed; importing
TensorFlow never imports it.
"""

import importlib
import importlib.util

from slimcompat.runtime.aliases import AliasFinder, Composite, find_spec_or_none, install_finder

__all__ = ["PACKAGE", "MODULES", "EXPORT_API", "API", "repairs"]

PACKAGE = "tensorflow_estimator"
_V1_API = "tensorflow_estimator.python.estimator.api._v1.estimator"
_V2_API = "tensorflow_estimator.python.estimator.api._v2.estimator"
_TPU = "TPUEstimator's {} was removed from TensorFlow; slimcompat lets tf.estimator import it but cannot run it"

# module tensorflow-estimator imports: a module of slimcompat serving it, or (None, why it is gone)
MODULES = {
    "tensorflow.python.distribute.estimator_training": ("slimcompat.runtime.estimator_training", None),
    "tensorflow.python.tpu.tpu_embedding": (None, _TPU.format("TPU embedding (TF1's TPUEmbedding)")),
    "tensorflow.python.tpu.tpu_embedding_gradient": (None, _TPU.format("TPU embedding gradient")),
    "tensorflow.python.tpu.session_support": (None, _TPU.format("worker watchdog and shutdown hooks")),
}

# tf_export's API name for tf.estimator, and the attributes it marks exported symbols with (as TF 2.15 named them)
EXPORT_API = ("ESTIMATOR_API_NAME", "estimator", ("_estimator_api_names", "_estimator_api_constants"),
              ("_estimator_api_names_v1", "_estimator_api_constants_v1"))

# TensorFlow API module: the tensorflow-estimator API module its `estimator` attribute is
API = {"tensorflow": _V2_API, "tensorflow.compat.v2": _V2_API, "tensorflow.compat.v1": _V1_API}


def installed():
    return importlib.util.find_spec(PACKAGE) is not None


def _module_repair(name, served, reason):
    def needed():
        return installed() and find_spec_or_none(name) is None

    def fix():
        if served:
            install_finder(AliasFinder(name, prefixes={name: served}, namespaces=False))
        else:
            install_finder(AliasFinder(name, composites={name: Composite(note=f"{name}: {reason}", removed=reason)},
                                       namespaces=False))

    symptom = f"import tensorflow_estimator: ImportError: cannot import name '{name.rsplit('.', 1)[1]}' " \
              f"from '{name.rsplit('.', 1)[0]}'"
    return f"{name} <- {served or 'removed: imports, fails if called'}", symptom, needed, fix


def _tf_export():
    return importlib.import_module("tensorflow.python.util.tf_export")


def _export_needed():
    return installed() and not hasattr(_tf_export(), EXPORT_API[0])


def _export_fix():
    module = _tf_export()
    constant, api, v2_attrs, v1_attrs = EXPORT_API
    module.API_ATTRS.setdefault(api, module._Attributes(*v2_attrs))  # pylint: disable=protected-access
    module.API_ATTRS_V1.setdefault(api, module._Attributes(*v1_attrs))  # pylint: disable=protected-access
    setattr(module, constant, api)


def _real(path):
    module = importlib.import_module(path)
    return module.__dict__.get("_slimcompat_real", module)  # the real tensorflow behind slimcompat.legacy's


def _api_repair(path, target):
    def needed():
        return installed() and not hasattr(_real(path), "estimator")

    def fix():
        from tensorflow.python.util.lazy_loader import LazyLoader
        module = _real(path)
        setattr(module, "estimator", LazyLoader("estimator", vars(module), target))

    shown = "tf" if path == "tensorflow" else path.replace("tensorflow", "tf", 1)
    return (f"{path}.estimator <- {target}", f"{shown}.estimator: AttributeError: module has no attribute 'estimator'",
            needed, fix)


def repairs():
    """(name, symptom, needed, fix) of each repair, in the order they apply."""
    constant = EXPORT_API[0]
    return [
        *[_module_repair(name, *row) for name, row in MODULES.items()],
        (f"tf_export.{constant} <- '{EXPORT_API[1]}'",
         f"import tensorflow_estimator: AttributeError: module 'tensorflow.python.util.tf_export' has no "
         f"attribute '{constant}'", _export_needed, _export_fix),
        *[_api_repair(path, target) for path, target in API.items()],
    ]
