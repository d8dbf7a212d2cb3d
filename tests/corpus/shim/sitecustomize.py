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
  steps, on at most $SLIMCOMPAT_CORPUS_SAMPLES samples (validation data too), and
  `evaluate` on at most that many; each cap that bites is recorded;
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


def _cut(value, limit):
    """`value` (an array, or a list/tuple/dict of arrays) cut to `limit` samples; (value, cut?)."""
    if isinstance(value, (list, tuple)) and value and all(hasattr(v, "shape") for v in value):
        parts = [_cut(v, limit) for v in value]
        return type(value)(p for p, _ in parts), any(c for _, c in parts)
    if isinstance(value, dict) and value and all(hasattr(v, "shape") for v in value.values()):
        parts = {k: _cut(v, limit) for k, v in value.items()}
        return {k: p for k, (p, _) in parts.items()}, any(c for _, c in parts.values())
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0 and type(value).__module__ == "numpy" and shape[0] > limit:
        return value[:limit], True
    return value, False


def _capped(original, where):
    signature = inspect.signature(original)
    names = [n for n, p in signature.parameters.items()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        depth = getattr(_DEPTH, "value", 0)
        if depth or len(args) > len(names):
            return original(self, *args, **kwargs)
        kwargs.update(zip(names, args))
        caps = []
        start = kwargs.get("initial_epoch") or 0
        for key in ("epochs", "nb_epoch"):
            if isinstance(kwargs.get(key), int) and kwargs[key] - start > _EPOCHS:
                caps.append((key, kwargs[key], start + _EPOCHS))
        for key in ("steps_per_epoch", "validation_steps", "steps"):
            if isinstance(kwargs.get(key), int) and kwargs[key] > _STEPS:
                caps.append((key, kwargs[key], _STEPS))
        batch = kwargs.get("batch_size") if isinstance(kwargs.get("batch_size"), int) else 1
        limit = max(batch, _SAMPLES - _SAMPLES % batch)
        for key in ("x", "y", "sample_weight"):
            if key in kwargs:
                kwargs[key], cut = _cut(kwargs[key], limit)
                if cut:
                    caps.append((key, "samples", limit))
        if isinstance(kwargs.get("validation_data"), tuple):
            kwargs["validation_data"], _ = _cut(kwargs["validation_data"], limit)
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
        if isinstance(values, dict) and not where.endswith("evaluate"):
            _record({"event": "fit", "call": where,
                     "history": {k: [float(v) for v in vs] for k, vs in values.items()}})
        return history

    return fit


def _patch_model(module):
    for method in ("fit", "fit_generator", "evaluate"):
        original = getattr(module.Model, method, None)
        if original is not None and not getattr(original, "_corpus_cap", False):
            wrapped = _capped(original, f"{module.__name__}.{method}")
            wrapped._corpus_cap = True
            setattr(module.Model, method, wrapped)


_PATCHES = {
    "tf_keras.src.utils.data_utils": _patch_validate,
    "keras.src.utils.file_utils": _patch_validate,
    "tf_keras.src.engine.training": _patch_model,
    "tf_keras.src.engine.training_v1": _patch_model,
    "keras.src.models.model": _patch_model,
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
