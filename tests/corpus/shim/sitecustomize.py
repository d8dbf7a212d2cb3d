"""The corpus tier's shim: loaded by every corpus program (plain, `slimcompat run`, migrated) through PYTHONPATH.

It changes nothing in a program's code; it makes the world around it small and
offline, the same way in all three modes:

- data: Keras' `validate_file` accepts the synthetic stand-ins the tier wrote
  into the Keras cache (their sha256s are in $SLIMCOMPAT_CORPUS_SYNTHETIC), so
  the real `load_data` and `get_file` code reads them as if downloaded; under
  `slimcompat run` the same files are vouched for with --trust-file instead,
  since slimcompat checks hashes before Keras does;
- work: `Model.fit` / `fit_generator` (tf-keras, its v1 graph-mode Model, Keras 3)
  run at most $SLIMCOMPAT_CORPUS_EPOCHS epochs of at most $SLIMCOMPAT_CORPUS_STEPS
  steps: arrays (validation data too) are cut to that many batches and at most
  $SLIMCOMPAT_CORPUS_SAMPLES samples, and a Sequence or finite Dataset given
  without steps_per_epoch / validation_steps gets them; `evaluate` and
  `evaluate_generator` likewise. `predict` is left whole: its result is the
  program's data (compared with the full label arrays, plotted). Arrays and
  tensors of known length the program itself gives `tf.data.Dataset.from_tensor_slices`
  keep their first $SAMPLES rows, for the era's own training loops and Estimator
  input functions (Keras' and TensorFlow's own calls, e.g. predict's, are left whole). Each cap that bites is recorded;
- chance: once TensorFlow is imported, Python's `random`, NumPy's global generator and TensorFlow's
  global seed are seeded (0), so initial weights (Keras 3 draws its seeds from `random`, tf-keras from
  TensorFlow's), shuffles and augmentations are the same in every run and every mode: a capped run of a
  few steps otherwise decides "the loss falls" by the luck of its initialisation;
- results: every fit's History is appended to $SLIMCOMPAT_CORPUS_RECORD (JSON lines).

It must not import slimcompat (the plain baseline runs without it), hence its
own small post-import hook; it imports nothing heavy until Keras itself is imported.
"""

import functools
import hashlib
import importlib.abc
import inspect
import json
import os
import sys
import threading

_RECORD = os.environ.get("SLIMCOMPAT_CORPUS_RECORD")
_EPOCHS = int(os.environ.get("SLIMCOMPAT_CORPUS_EPOCHS", "2"))
_STEPS = int(os.environ.get("SLIMCOMPAT_CORPUS_STEPS", "8"))
_SAMPLES = int(os.environ.get("SLIMCOMPAT_CORPUS_SAMPLES", "512"))
_KERAS_BATCH = 32
_LIBRARIES = ("keras", "tf_keras", "tensorflow", "tensorflow_estimator")
_DEPTH = threading.local()


def _record(event):
    if _RECORD:
        with open(_RECORD, "a") as handle:
            handle.write(json.dumps(event) + "\n")


def _synthetic_digests():
    path = os.environ.get("SLIMCOMPAT_CORPUS_SYNTHETIC")
    if not path:
        return set()
    with open(path) as handle:
        return set(json.load(handle).values())


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _patch_validate(module):
    original = module.validate_file
    synthetic = _synthetic_digests()

    @functools.wraps(original)
    def validate_file(fpath, *args, **kwargs):
        if os.path.isfile(fpath) and _sha256(fpath) in synthetic:
            return True
        return original(fpath, *args, **kwargs)

    module.validate_file = validate_file


def _leaves(value):
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


def _cut_nested(value, limit):
    if isinstance(value, (list, tuple)):
        return type(value)(_cut_nested(v, limit) for v in value)
    if isinstance(value, dict):
        return {k: _cut_nested(v, limit) for k, v in value.items()}
    return None if value is None else value[:limit]


def _length(leaf):
    """The number of samples of a NumPy array or a TensorFlow tensor of known length; None for anything else."""
    module = type(leaf).__module__
    if module != "numpy" and not module.startswith("tensorflow."):
        return None
    try:
        return int(leaf.shape[0])
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _cut(value, limit):
    """`value` (an array, or lists/tuples/dicts of arrays and None) cut to `limit` samples; (value, cut?).

    Only when everything in it is a NumPy array or a tensor of known length, so
    that what is cut stays aligned; anything else is left whole.
    """
    lengths = [_length(leaf) for leaf in _leaves(value) if leaf is not None]
    if not lengths or None in lengths or max(lengths) <= limit:
        return value, False
    return _cut_nested(value, limit), True


def _samples(batch_size):
    """How many samples a call with this batch size may use: at most $STEPS batches, at most $SAMPLES samples."""
    batch = batch_size if isinstance(batch_size, int) and batch_size > 0 else _KERAS_BATCH
    return batch * max(1, min(_STEPS, _SAMPLES // batch))


def _batches(value):
    """The number of batches of a Keras Sequence / PyDataset or a finite tf.data.Dataset; None for anything else."""
    if value is None or hasattr(value, "shape") or isinstance(value, (list, tuple, dict, str)):
        return None
    try:
        return int(len(value))
    except Exception:
        return None


def _capped(original, where):
    signature = inspect.signature(original)
    names = [n for n, p in signature.parameters.items()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
    evaluating = where.endswith("evaluate") or where.endswith("evaluate_generator")

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        depth = getattr(_DEPTH, "value", 0)
        if depth or len(args) > len(names):
            return original(self, *args, **kwargs)
        kwargs.update(zip(names, args))
        caps = []
        start = kwargs.get("initial_epoch") or 0
        epochs = 1
        for key in ("epochs", "nb_epoch"):
            if isinstance(kwargs.get(key), int):
                epochs = min(kwargs[key] - start, _EPOCHS)
                if kwargs[key] - start > _EPOCHS:
                    caps.append((key, kwargs[key], start + _EPOCHS))
        for key in ("steps_per_epoch", "validation_steps", "steps"):
            if isinstance(kwargs.get(key), int) and kwargs[key] > _STEPS:
                caps.append((key, kwargs[key], _STEPS))
        steps_key = "steps" if evaluating else "steps_per_epoch"
        for data, steps, rounds in ((kwargs.get("x", kwargs.get("generator")), steps_key, 1 if evaluating else epochs),
                                    (kwargs.get("validation_data"), "validation_steps", epochs)):
            batches = _batches(data)
            if kwargs.get(steps) is None and batches is not None and batches > _STEPS and batches >= _STEPS * rounds:
                caps.append((steps, batches, _STEPS))
        limit = _samples(kwargs.get("batch_size"))
        for key in ("x", "y", "sample_weight"):
            if key in kwargs:
                kwargs[key], cut = _cut(kwargs[key], limit)
                if cut:
                    caps.append((key, "samples", limit))
        if isinstance(kwargs.get("validation_data"), tuple):
            validation = _samples(kwargs.get("validation_batch_size") or kwargs.get("batch_size"))
            kwargs["validation_data"], cut = _cut(kwargs["validation_data"], validation)
            if cut:
                caps.append(("validation_data", "samples", validation))
        for key, before, after in caps:
            if isinstance(before, int):
                kwargs[key] = after
            _record({"event": "cap", "call": where, "what": key, "from": before, "to": after})
        _DEPTH.value = depth + 1
        try:
            history = original(self, **kwargs)
        finally:
            _DEPTH.value = depth
        values = getattr(history, "history", None)
        if isinstance(values, dict) and not evaluating:
            _record({"event": "fit", "call": where,
                     "history": {k: [float(v) for v in vs] for k, vs in values.items()}})
        return history

    return fit


def _patch_model(module):
    for method in ("fit", "fit_generator", "evaluate", "evaluate_generator"):
        original = getattr(module.Model, method, None)
        if original is not None and not getattr(original, "_corpus_cap", False):
            wrapped = _capped(original, f"{module.__name__}.{method}")
            wrapped._corpus_cap = True
            setattr(module.Model, method, wrapped)


def _patch_dataset(module):
    """`Dataset.from_tensor_slices` of numpy arrays longer than $SAMPLES takes their first $SAMPLES rows.

    A TF1-era input pipeline embeds the arrays in the graph as constants: 60,000
    MNIST images are 188 MB that every Estimator call and every graph.pbtxt the
    MonitoredTrainingSession writes carries, and the program's own loop (a
    GradientTape epoch) runs over all of them.
    """
    dataset = module.DatasetV2
    original = dataset.from_tensor_slices
    if getattr(original, "_corpus_cap", False):
        return

    @functools.wraps(original)
    def from_tensor_slices(tensors, name=None):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.split(".")[0] in _LIBRARIES:   # Keras' own adapters (predict on arrays): never cut
            return original(tensors, name=name)
        tensors, cut = _cut(tensors, _SAMPLES)
        if cut:
            _record({"event": "cap", "call": "tf.data.Dataset.from_tensor_slices", "what": "tensors",
                     "from": "samples", "to": _SAMPLES})
        return original(tensors, name=name)

    from_tensor_slices._corpus_cap = True
    dataset.from_tensor_slices = staticmethod(from_tensor_slices)


def _seed(module):
    import random

    import numpy
    random.seed(0)
    numpy.random.seed(0)
    module.random.set_seed(0)


_PATCHES = {
    "tensorflow": _seed,
    "tf_keras.src.utils.data_utils": _patch_validate,
    "keras.src.utils.file_utils": _patch_validate,
    "tf_keras.src.engine.training": _patch_model,
    "tf_keras.src.engine.training_v1": _patch_model,
    "keras.src.models.model": _patch_model,
    "tensorflow.python.data.ops.dataset_ops": _patch_dataset,
}


class _Watch(importlib.abc.MetaPathFinder):
    """Hands each watched module to its patch right after the module's own code has run."""

    def __init__(self):
        self._asking = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _PATCHES or self._asking:
            return None
        self._asking = True
        try:
            for finder in sys.meta_path:
                spec = None if finder is self else getattr(finder, "find_spec", lambda *a: None)(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None:
                        spec.loader = _Loader(spec.loader, _PATCHES[fullname])
                    return spec
        finally:
            self._asking = False
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, patch):
        self._loader, self._patch = loader, patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


sys.meta_path.insert(0, _Watch())
