"""Where each Keras 2.x module that Keras 3 (and tf-keras) dropped lives now.

Keras-era programs import `keras.engine.topology`, `keras.utils.data_utils`,
`keras.utils.layer_utils` or the separate `keras_applications` package; none of
them exists on TF 2.21, under Keras 3 or under tf-keras. Each row below names
the maintained modules that now hold the same functions, once for Keras 2
(tf-keras, what `slimcompat run` serves Keras-era code) and once for Keras 3
(what `slimcompat migrate` rewrites to, and `run --keras 3` serves). Nothing is
copied: the import hook (slimcompat.runtime.aliases) looks names up in those
modules. Declared once and used three times: by `run` under either Keras, and by
`migrate`.

A row's `keras2` is either one module (a prefix alias: every submodule follows,
`keras.engine.training` -> `tf_keras.src.engine.training`) or a tuple of modules
searched in order; `keras3` is a tuple. `names` lists attributes that moved
under another name, as (tf-keras path, Keras 3 path). `removed` says why the
remaining names are gone in Keras 3; they import, and fail in one line if
called (`layer_utils.convert_all_kernels_in_model`, which only ran on Theano).
"""

import dataclasses
import sys
from typing import Mapping, Optional, Tuple, Union

from slimcompat.runtime.aliases import AliasFinder, Composite, install_finder, resolve_prefix

__all__ = ["Legacy", "LEGACY", "LAYER_MODULES", "KERAS3_REQUIRED", "KERAS3_REFUSED", "KERAS3_PYTHON_INTS",
           "ANY_LAYER", "ROOTS", "finders", "install", "keras3_home", "keras3_refused"]


@dataclasses.dataclass(frozen=True)
class Legacy:
    keras2: Union[str, Tuple[str, ...]]
    keras3: Tuple[str, ...]
    names: Mapping[str, Tuple[Optional[str], Optional[str]]] = dataclasses.field(default_factory=dict)
    removed: Optional[str] = None
    partial: bool = False  # Keras 3 still has the module, less the Keras 2 names: importing it is no sign of Keras 2
    call: Tuple[Optional[str], Optional[str]] = (None, None)  # the function it also was, under Keras 2 and 3


_OBTAIN_INPUT_SHAPE = {"_obtain_input_shape": ("tf_keras.src.applications.imagenet_utils.obtain_input_shape",
                                               "keras.src.applications.imagenet_utils.obtain_input_shape")}
_NETWORK = ("tf_keras.src.engine.functional.Functional", "keras.Model")

LEGACY = {
    # Keras 2.2's keras/engine/__init__.py exported these; tf-keras' engine package holds only submodules.
    "keras.engine": Legacy("tf_keras.src.engine", ("keras.layers", "keras.models", "keras.utils"),
                           names={"Network": _NETWORK, "Model": ("tf_keras.src.engine.training.Model", "keras.Model"),
                                  "Layer": ("tf_keras.src.engine.base_layer.Layer", "keras.layers.Layer"),
                                  "InputSpec": ("tf_keras.src.engine.input_spec.InputSpec", "keras.layers.InputSpec"),
                                  "Input": ("tf_keras.src.engine.input_layer.Input", "keras.layers.Input"),
                                  "InputLayer": ("tf_keras.src.engine.input_layer.InputLayer",
                                                 "keras.layers.InputLayer"),
                                  "get_source_inputs": ("tf_keras.src.utils.layer_utils.get_source_inputs",
                                                        "keras.utils.get_source_inputs")}),
    "keras.engine.topology": Legacy(
        ("tf_keras.src.engine.base_layer", "tf_keras.src.engine.input_layer", "tf_keras.src.engine.input_spec",
         "tf_keras.src.engine.functional", "tf_keras.src.utils.layer_utils"),
        ("keras.layers", "keras.models", "keras.utils"),
        names={"Network": _NETWORK, "Container": _NETWORK}),
    "keras.engine.training": Legacy("tf_keras.src.engine.training", ("keras.models", "keras")),
    "keras.engine.base_layer": Legacy("tf_keras.src.engine.base_layer", ("keras.layers",)),
    "keras.utils.data_utils": Legacy("tf_keras.src.utils.data_utils", ("keras.utils",)),
    "keras.utils.layer_utils": Legacy(
        "tf_keras.src.utils.layer_utils", ("keras.utils",),
        removed="removed in Keras 3 (it converted Theano kernels and channels_first Dense weights)"),
    "keras.utils.np_utils": Legacy("tf_keras.src.utils.np_utils", ("keras.utils",)),
    "keras.utils.generic_utils": Legacy("tf_keras.src.utils.generic_utils", ("keras.utils", "keras.saving")),
    "keras.utils.vis_utils": Legacy("tf_keras.src.utils.vis_utils", ("keras.utils",)),
    "keras.utils.conv_utils": Legacy("tf_keras.src.utils.conv_utils", (),
                                     removed="removed from Keras 3's public API"),
    "keras.applications.imagenet_utils": Legacy(("tf_keras.src.applications.imagenet_utils",),
                                                ("keras.applications.imagenet_utils",), names=_OBTAIN_INPUT_SHAPE),
    # Keras 2.2's keras/backend/common.py: epsilon, floatx, image_data_format and their setters.
    "keras.backend.common": Legacy(("tf_keras.backend",), ("keras.backend", "keras.config")),
    "keras.backend.tensorflow_backend": Legacy(("tf_keras.backend", "tf_keras.src.backend"), ("keras.backend",),
                                               removed="removed in Keras 3 (TF1 session management)"),
    "keras_applications": Legacy("tf_keras.src.applications", ("keras.applications",)),
    "keras_applications.imagenet_utils": Legacy(("tf_keras.src.applications.imagenet_utils",),
                                                ("keras.applications.imagenet_utils",), names=_OBTAIN_INPUT_SHAPE),
    # Keras 3's own backend module has 14 names; the Keras 2 backend functions (get_value, set_value,
    # int_shape...) are Keras 3's too, under tf.keras. Keras 2.2's also had its TF1 graph functions
    # (get_session, update), which tf-keras keeps out of its public backend.
    "keras.backend": Legacy(("tf_keras.backend", "tf_keras.src.backend"), ("tensorflow.keras.backend",), partial=True),
    # Keras 3 keeps the Keras 2 preprocessing classes (ImageDataGenerator, Tokenizer) only under tf.keras.
    "keras.preprocessing.image": Legacy("tf_keras.preprocessing.image", ("tensorflow.keras.preprocessing.image",),
                                        partial=True),
    "keras.preprocessing.sequence": Legacy("tf_keras.preprocessing.sequence",
                                           ("keras.utils", "tensorflow.keras.preprocessing.sequence"), partial=True),
    "keras.preprocessing.text": Legacy("tf_keras.preprocessing.text", ("tensorflow.keras.preprocessing.text",),
                                       partial=True),
}

# Keras 2.0-2.2 kept layers in modules by kind; all of them are in `layers` now.
LAYER_MODULES = ("core", "convolutional", "convolutional_recurrent", "normalization", "pooling", "merge",
                 "recurrent", "advanced_activations", "wrappers", "embeddings", "noise", "local",
                 "cudnn_recurrent")
LEGACY.update({f"keras.layers.{kind}": Legacy(("tf_keras.layers",), ("keras.layers",)) for kind in LAYER_MODULES})
# Keras 2.0-2.1's `keras.layers.merge` was also Keras 1's merge function (slimcompat.keras2.keras1_merge).
LEGACY["keras.layers.merge"] = dataclasses.replace(LEGACY["keras.layers.merge"], call=(
    "slimcompat.keras2.keras1_merge.merge", "slimcompat.keras2.keras1_merge.merge_keras3"))

ROOTS = ("keras", "keras_applications")

# Layer arguments that had a default in Keras 2 and are required in Keras 3:
# {class: (argument, Keras 2 default as source)}. tests/test_keras_era.py checks it against both libraries.
KERAS3_REQUIRED = {
    "AveragePooling1D": ("pool_size", "2"), "AvgPool1D": ("pool_size", "2"),
    "AveragePooling2D": ("pool_size", "(2, 2)"), "AvgPool2D": ("pool_size", "(2, 2)"),
    "AveragePooling3D": ("pool_size", "(2, 2, 2)"), "AvgPool3D": ("pool_size", "(2, 2, 2)"),
}

# Layer arguments Keras 3 takes only as a Python int, where Keras 2 took any integer (a NumPy one too:
# `num_classes = np.max(y_train) + 1; Dense(num_classes)`): {class: {argument: its position}}, positions the
# same in both libraries. Conv `filters` still takes NumPy integers; kernel, stride, pool and padding sizes
# never did (Keras 2's normalize_tuple refused them too). tests/test_migrate_keras.py checks it against both.
_UNITS = {"units": 0}
KERAS3_PYTHON_INTS = {
    "Dense": _UNITS, "SimpleRNN": _UNITS, "GRU": _UNITS, "LSTM": _UNITS,
    "SimpleRNNCell": _UNITS, "GRUCell": _UNITS, "LSTMCell": _UNITS,
    "Embedding": {"input_dim": 0, "output_dim": 1},
    "RepeatVector": {"n": 0},
    "UpSampling1D": {"size": 0},
    "MultiHeadAttention": {"num_heads": 0, "key_dim": 1, "value_dim": 2},
    "GroupNormalization": {"groups": 0},
}

# Keyword arguments Keras 2 (and tf-keras) took that Keras 3 refuses or reads otherwise:
# {callee: {keyword: how `migrate` writes it for Keras 3}}. A program that passes one is Keras 2 code to
# `run`. "drop": tf-keras already ignored it; "initial_weights": slimcompat.keras2.initial_weights;
# "tf_keras": Keras 3 has no equivalent (a graph tensor as a model's target), so the file keeps Keras 2
# (slimcompat.migrate.keras2_kept); "evidence": Keras 3 takes it only in another sense (`Input(tensor=)`
# must be a Keras tensor there; keras_applications passed one, graph programs a TF tensor), so it only
# says Keras 2 to `run`; "batch_shape": Keras 2's fixed batch size on a layer (`batch_size=` with
# `input_shape=`, or `batch_input_shape=`), which Keras 3 takes only from an `Input(batch_shape=...)` first
# layer (slimcompat.migrate.keras3 writes one). ANY_LAYER stands for every layer class but those in
# _KERAS3_TAKES for the keyword.
ANY_LAYER = "<any layer>"
KERAS3_REFUSED = {
    "TensorBoard": {"batch_size": "drop", "write_grads": "drop", "embeddings_layer_names": "drop",
                    "embeddings_data": "drop"},
    "Input": {"tensor": "evidence"},
    "InputLayer": {"input_tensor": "evidence"},
    "compile": {"target_tensors": "tf_keras"},
    ANY_LAYER: {"weights": "initial_weights", "batch_size": "batch_shape", "batch_input_shape": "batch_shape"},
}
# Keras 3 layers that still take a keyword of ANY_LAYER's.
_KERAS3_TAKES = {"weights": ("Embedding",), "batch_size": ("Input", "InputLayer"),
                 "batch_input_shape": ("Input", "InputLayer")}


def keras3_refused(callee, keywords, dotted=""):
    """{keyword: action} of `keywords` that Keras 3 refuses in a call to `callee` (dotted: its full name)."""
    table = dict(KERAS3_REFUSED.get(callee, {}))
    if ".layers." in f".{dotted}" and "keras" in dotted:
        table.update({keyword: action for keyword, action in KERAS3_REFUSED[ANY_LAYER].items()
                      if callee not in _KERAS3_TAKES.get(keyword, ())})
    return {k: table[k] for k in keywords if k in table}


def keras3_home(module, attr):
    """The dotted Keras 3 name of `module.attr` for a legacy module, or None if it has none.

    Checks the installed Keras: a rewrite to a name that does not exist only
    moves the failure to run time.
    """
    import importlib
    row = LEGACY.get(module)
    if row is None:
        return None
    if attr in row.names:
        return row.names[attr][1]
    for source in row.keras3:
        if hasattr(importlib.import_module(source), attr):
            return f"{source}.{attr}"
    return None


def finders(version):
    """The import hooks serving the legacy modules under Keras `version` ("2" or "3")."""
    prefixes = {root: {} for root in ROOTS}
    composites = {root: {} for root in ROOTS}
    if version == "2":
        prefixes["keras"]["keras"] = "tf_keras"
    else:
        prefixes["keras_applications"]["keras_applications"] = "keras.applications"
    for legacy, row in LEGACY.items():
        root = legacy.split(".")[0]
        if version == "2":
            if isinstance(row.keras2, str):
                prefixes[root][legacy] = row.keras2
            if isinstance(row.keras2, tuple) or row.names or row.removed:
                sources = (row.keras2,) if isinstance(row.keras2, str) else row.keras2
                names = {attr: paths[0] for attr, paths in row.names.items() if paths[0]}
                composites[root][legacy] = Composite(sources, f"{legacy}, served by {', '.join(sources)}", names,
                                                     row.removed, row.call[0])
        elif legacy not in row.keras3:
            names = {attr: paths[1] for attr, paths in row.names.items() if paths[1]}
            composites[root][legacy] = Composite(row.keras3, f"{legacy}, served by {', '.join(row.keras3)}",
                                                 names, row.removed, row.call[1])
    if version == "2":
        _parents_as_composites(prefixes, composites)
    return [AliasFinder(root, prefixes=prefixes[root], composites=composites[root], namespaces=False)
            for root in ROOTS]


def _parents_as_composites(prefixes, composites):
    """Serve each parent of a legacy module as a composite of its tf-keras module.

    A prefix alias hands out the tf-keras module object itself, and `from
    keras.utils import layer_utils` then looks for `tf_keras.utils.layer_utils`,
    which does not exist; a composite named `keras.utils` that lists its legacy
    submodules imports them under the legacy names instead.
    """
    for root, table in composites.items():
        children = {}
        for legacy in [*table, *prefixes[root]]:
            parts = legacy.split(".")
            for i in range(1, len(parts)):
                children.setdefault(".".join(parts[:i]), set()).add(parts[i])
        for parent, names in children.items():
            modern = resolve_prefix(prefixes[root], parent)
            if parent not in table and modern is not None:
                table[parent] = Composite((modern,), f"{parent}, served by {modern}",
                                          {name: f"{parent}.{name}" for name in sorted(names)})


def install(version, replace=False):
    """Serve the legacy Keras modules under Keras `version`.

    A root already served stays as it is unless `replace` (what `slimcompat run`
    does: its choice of Keras wins over an earlier import of this package).
    """
    for finder in finders(version):
        if replace:
            sys.meta_path[:] = [f for f in sys.meta_path
                                if not (isinstance(f, AliasFinder) and f.root == finder.root)]
        install_finder(finder)
