"""Apply the repairs when the package they mend arrives, not when slimcompat does.

`import slimcompat` must stay cheap (reading a weight file should not pay for
a TensorFlow import), and so must `import slimcompat; import tensorflow`: a
repair of tf_slim or tf_keras waits for that package's own import instead of
importing it inside TensorFlow's. So activation applies the repairs of the
packages already imported, and each other one right after that package's
first import. The same hook runs other code once a module has been imported
(`after_import`), which the legacy path uses to finish setting up modules it
does not want to import eagerly.
"""

import importlib.abc
import sys

from slimcompat.runtime.repairs import PACKAGES, apply_loaded

__all__ = ["activate", "after_import"]

_CALLBACKS = {}


class _AfterImport(importlib.abc.MetaPathFinder):
    """Wraps the real loader of a watched module; runs its callbacks once it has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _CALLBACKS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _CallingLoader(spec.loader)
                return spec
            if spec is not None:
                return spec
        return None


class _CallingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _run_callbacks(module.__name__)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _run_callbacks(name):
    callbacks = _CALLBACKS.pop(name, [])
    if not _CALLBACKS:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _AfterImport)]
    for callback in callbacks:
        callback(sys.modules[name])


def after_import(name, callback):
    """Call `callback(module)` once module `name` is imported: now if it already is."""
    if name in sys.modules:
        callback(sys.modules[name])
        return
    _CALLBACKS.setdefault(name, []).append(callback)
    if not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())


def activate():
    """Apply the repairs of each package in PACKAGES now, or when it is imported."""
    for package in PACKAGES:
        if package in sys.modules:
            apply_loaded()
        elif not any(cb is _repair for cb in _CALLBACKS.get(package, ())):
            after_import(package, _repair)


def _repair(module):
    apply_loaded()
