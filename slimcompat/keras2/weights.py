"""Weights saved by Keras 2.x / tf.keras 2.x, loaded exactly into Keras 3 models.

Keras 3 reads legacy `.h5` files itself (topologically and `by_name`), but not
the TF-format checkpoints tf.keras 2.x wrote for `save_weights('x.ckpt')`,
`ModelCheckpoint(save_weights_only=True)` and `tf.train.Checkpoint`. Those store
each value under the path of attribute names through which the saving program
reached it (`blocks/layer_with_weights-0/c1/kernel`). This module walks that
object graph (slimcompat.weights.object_checkpoint) and the Keras 3 model side by
side, naming the model's objects as tf.keras 2.x named them:

- a layer's own variables by their names (`kernel`, `moving_mean`);
- a subclassed layer's or model's attributes holding layers, variables, or
  lists and dicts of them (`c1`, `layers_list/0`);
- the layers of a Functional or Sequential model as `layer_with_weights-K`
  (the K-th layer that has weights) and `layer-N` (the N-th layer).

The whole mapping is checked first, both ways (every model weight found once,
every saved model variable used, shapes and dtypes equal); only then is
anything assigned. Training state (the optimizer) is not model weights and is
left alone.

`load_weights(model, path)` is what migrated programs call: it loads new-format
files with Keras, and for a path whose file does not exist yet, the checkpoint
the program wrote before `slimcompat migrate` renamed it (see `legacy_paths`).
"""

import os
import sys

from slimcompat.errors import MappingError, WeightsError
from slimcompat.weights.object_checkpoint import TRAINING_STATE, ObjectCheckpoint

__all__ = ["load_weights", "save_weights", "latest_checkpoint", "weights_exist", "load_object_checkpoint",
           "legacy_paths", "new_path", "NEW_SUFFIX", "LEGACY_SUFFIXES"]

NEW_SUFFIX = ".weights.h5"
# What `slimcompat migrate` turns into NEW_SUFFIX: X.ckpt, X.h5, X.hdf5 and X (TF format without extension).
LEGACY_SUFFIXES = (".ckpt", ".h5", ".hdf5", "")
_H5 = (".h5", ".hdf5")


def legacy_paths(path):
    """The files a weight path may have had before migration: `X.weights.h5` -> X.ckpt, X.h5, X.hdf5, X."""
    path = os.fspath(path)
    if not path.endswith(NEW_SUFFIX):
        return []
    stem = path[:-len(NEW_SUFFIX)]
    return [stem + suffix for suffix in LEGACY_SUFFIXES]


def new_path(path):
    """The `.weights.h5` name `slimcompat migrate` gives a weight path Keras 3 refuses (X.ckpt -> X.weights.h5)."""
    path = os.fspath(path)
    if path.endswith(NEW_SUFFIX):
        return path
    for suffix in LEGACY_SUFFIXES[:-1]:
        if path.endswith(suffix):
            return path[:-len(suffix)] + NEW_SUFFIX
    return path + NEW_SUFFIX


def _exists(path):
    """Whether weights are saved at `path`: a file, or a TF-format checkpoint prefix."""
    return os.path.isfile(path) or os.path.isfile(path + ".index")


def _locate(path):
    path = os.fspath(path)
    if _exists(path):
        return path
    if not path.endswith(NEW_SUFFIX) and os.path.isfile(new_path(path)):
        return new_path(path)   # a load of the old name, whose save migrate renamed
    found = [p for p in legacy_paths(path) if _exists(p)]
    if len(found) > 1:
        raise WeightsError(path, f"does not exist, and several earlier checkpoints could stand for it "
                                 f"({', '.join(found)}); load one of them by name")
    return found[0] if found else None


def weights_exist(path):
    """Whether `path`, or the checkpoint a program wrote there before migration, exists."""
    return _locate(path) is not None


def load_weights(model, path, by_name=False, skip_mismatch=False):
    """Load weights into `model` (Keras 3 or tf-keras) from `path` or from the file it replaced.

    Keras 3 models: TF-format checkpoints through their object graph (all or
    nothing), legacy `.h5` through Keras' own reader (`by_name` as Keras 2 did),
    new formats through Keras. A Keras 3 model whose variables do not exist yet
    (a subclassed model before its first call) is loaded right after that call,
    as tf.keras 2.x deferred such restores. tf-keras models: Keras 2's own
    `load_weights`.
    """
    found = _locate(path)
    if found is None:
        raise WeightsError(path, "no such weights file or checkpoint")
    if found != os.fspath(path):
        print(f"slimcompat: {path} does not exist yet: loading {found}, written before migration",
              file=sys.stderr)
    if not _is_keras3(model):
        return model.load_weights(found, by_name=by_name, skip_mismatch=skip_mismatch)
    if os.path.isfile(found + ".index") and not os.path.isfile(found):
        if by_name:
            raise WeightsError(found, "by_name loading needs an .h5 file; this is a TF-format checkpoint")
        ckpt = ObjectCheckpoint(found)
        return _after_build(model, lambda: _assign(ckpt, model))
    if found.endswith(_H5) and not found.endswith(NEW_SUFFIX):
        def legacy_h5():
            if not by_name:
                _warn_if_names_differ(model, found)
            return model.load_weights(found, skip_mismatch=skip_mismatch, by_name=by_name or None)
        return _after_build(model, legacy_h5)
    return _after_build(model, lambda: model.load_weights(found, skip_mismatch=skip_mismatch))


def save_weights(model, path, **kwargs):
    """`model.save_weights(path)` with tf.keras 2.x's habits, for a migrated program.

    TF-format saves made the checkpoint's folder and took any name; Keras 3
    writes only `.weights.h5` and into a folder that exists. A path the program
    computes (`checkpoint_path.format(epoch=0)`) gets its new name here, the one
    `migrate` gives literal paths.
    """
    path = os.fspath(path)
    if _is_keras3(model) and not path.endswith(NEW_SUFFIX):
        print(f"slimcompat: saving {path} as {new_path(path)}: Keras 3 saves weights only as {NEW_SUFFIX}",
              file=sys.stderr)
        path = new_path(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    return model.save_weights(path, **kwargs)


def latest_checkpoint(folder, latest_filename=None):
    """`tf.train.latest_checkpoint(folder)` for a migrated program: the newest `.weights.h5` file there, else
    the newest TF-format checkpoint (written before migration), else None.

    Keras 3's weight files have no `checkpoint` state file to name the latest, so the newest is the last
    written (the highest file name among equal times, as epoch templates sort).
    """
    folder = os.fspath(folder)
    try:
        names = [n for n in os.listdir(folder) if n.endswith(NEW_SUFFIX)]
    except OSError:
        names = []
    if names:
        newest = max(names, key=lambda n: (os.path.getmtime(os.path.join(folder, n)), n))
        return os.path.join(folder, newest)
    import tensorflow as tf
    return tf.train.latest_checkpoint(folder, latest_filename)


def _after_build(model, load):
    """Run `load()` now if `model` has its variables, else right after its first call.

    The first call may happen while a tf.function is being traced (`fit`), so
    the deferred load runs under `tf.init_scope()`: once, eagerly, never as
    part of the traced step.
    """
    if model.built and model.weights:
        return load()
    cls = type(model)

    def __call__(self, *args, **kwargs):
        outputs = super(deferred, self).__call__(*args, **kwargs)
        self.__class__ = cls
        import tensorflow as tf
        with tf.init_scope():
            load()
        return outputs

    deferred = type(cls.__name__, (cls,), {"__call__": __call__, "__module__": cls.__module__,
                                           "__qualname__": cls.__qualname__})
    model.__class__ = deferred
    return None


def _is_keras3(model):
    return type(model).__module__.startswith("keras.") or any(
        c.__module__.startswith("keras.src.") for c in type(model).__mro__)


def load_object_checkpoint(model, path):
    """Assign every weight of Keras 3 `model` (built) from the TF-format checkpoint at `path`; all or nothing.

    Returns {model variable path: checkpoint variable name}. MappingError (names
    as the checkpoint and the model spell them) if they do not correspond.
    """
    return _assign(ObjectCheckpoint(path), model)


def _assign(ckpt, model):
    attempts = [_pair(ckpt, 0, model)]
    if any(attempts[0][1]):
        attempts += [_pair(ckpt, root, model) for root in _roots(ckpt)]
    complete = [a for a in attempts if not any(a[1])]
    if len(complete) > 1:
        raise WeightsError(ckpt.path, "several objects in the checkpoint fit the model: "
                                      + ", ".join("/".join(a[2]) or "(root)" for a in complete))
    if not complete:
        raise MappingError(f"{ckpt.path} into {model.name}", *attempts[0][1])
    pairs, _, _ = complete[0]
    values = [(variable, ckpt.read(saved)) for variable, saved in pairs]
    for variable, value in values:
        variable.assign(value)
    return {_variable_name(variable): saved.name for variable, saved in pairs}


def _roots(ckpt):
    """Objects under the checkpoint's root that may stand for the model (`tf.train.Checkpoint(model=...)`)."""
    for name, child in ckpt.children(0):
        if name not in TRAINING_STATE and child != 0 and ckpt.holds_values(child):
            yield child


def _pair(ckpt, root, model):
    """([(model variable, CheckpointVariable)], (missing, unexpected, mismatched), root path)."""
    objects = {}
    unexpected = []
    stack = [(root, model)]
    while stack:
        node, obj = stack.pop()
        if node in objects:
            if objects[node] is not obj:
                unexpected.append(_describe(ckpt, node))
            continue
        objects[node] = obj
        ours = {}
        for name, child in _children(obj):
            ours.setdefault(name, child)
        for name, child in ckpt.children(node):
            if name in TRAINING_STATE or child == node or not ckpt.holds_values(child):
                continue
            if name in ours:
                stack.append((child, ours[name]))
            else:
                unexpected += [v.name for v in ckpt.variables(child)]
    weights = {id(v): v for v in model.weights}
    pairs, used, mismatched = [], set(), []
    for node, obj in objects.items():
        saved = ckpt.variable(node)
        if saved is None or id(obj) not in weights or id(obj) in used:
            if saved is not None:
                unexpected.append(saved.name)
            continue
        used.add(id(obj))
        shape = tuple(int(d) for d in obj.shape)
        if shape != saved.shape or _dtype(obj) != saved.dtype:
            mismatched.append((saved.name, (*shape, _dtype(obj)), (*saved.shape, saved.dtype)))
        else:
            pairs.append((obj, saved))
    missing = [_variable_name(v) for key, v in weights.items() if key not in used]
    return pairs, (missing, sorted(set(unexpected)), mismatched), ckpt.path_of(root)


def _describe(ckpt, node):
    variable = ckpt.variable(node)
    return variable.name if variable else f"object {node}"


def _dtype(variable):
    return getattr(variable.dtype, "name", str(variable.dtype))


def _variable_name(variable):
    return getattr(variable, "path", None) or variable.name


def _children(obj):
    """[(edge name, object)] as tf.keras 2.x tracked the objects `obj` holds (see the module doc)."""
    import keras
    if isinstance(obj, keras.Layer):
        found = []
        if _is_container(obj):
            weighted = 0
            for index, layer in enumerate(obj.layers):
                if layer.weights:
                    found.append((f"layer_with_weights-{weighted}", layer))
                    weighted += 1
                found.append((f"layer-{index}", layer))
        found += [(v.name, v) for v in [*obj._trainable_variables, *obj._non_trainable_variables]]
        if not type(obj).__module__.startswith("keras."):
            internal = _internal_attributes()
            found += [(attr, value) for attr, value in vars(obj).items()
                      if attr not in internal and _tracked(value)]
        return found
    if isinstance(obj, dict):
        return [(str(key), value) for key, value in obj.items() if _tracked(value)]
    if isinstance(obj, (list, tuple)):
        return [(str(index), value) for index, value in enumerate(obj) if _tracked(value)]
    return []


def _is_container(layer):
    from keras.src.models.functional import Functional
    from keras.src.models.sequential import Sequential
    return isinstance(layer, (Functional, Sequential))


def _tracked(value):
    import keras
    import tensorflow as tf
    if isinstance(value, (keras.Layer, keras.Variable, tf.Variable)):
        return True
    if isinstance(value, dict):
        return any(_tracked(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_tracked(v) for v in value)
    return False


_INTERNAL = []


def _internal_attributes():
    """Attribute names Keras 3 itself sets on every layer and model (not the user's)."""
    if not _INTERNAL:
        import keras
        _INTERNAL.append(set(vars(keras.layers.Layer())) | set(vars(keras.Model())))
    return _INTERNAL[0]


def _warn_if_names_differ(model, path):
    """Keras loads an .h5 file without by_name by layer order; say so when the names disagree."""
    import h5py
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
        saved = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("layer_names", [])]
        saved = [n for n in saved if len(group[n].attrs.get("weight_names", []))]
    ours = [layer.name for layer in model.layers if layer.weights]
    differ = [(a, b) for a, b in zip(saved, ours) if a != b]
    if differ:
        a, b = differ[0]
        print(f"slimcompat: warning: {path}: loaded by layer order, and {len(differ)} of {len(ours)} layer "
              f"names differ (file {a!r}, model {b!r}): check that the model is the one that saved it",
              file=sys.stderr)
