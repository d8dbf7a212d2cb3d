"""Apply the repairs when the package they mend arrives, not when slimcompat does.

`import slimcompat` must stay cheap (reading a weight file should not pay for
a TensorFlow import), and so must `import slimcompat; import tensorflow`: a
repair of tf_slim or tf_keras waits for that package's own import instead of
importing it inside TensorFlow's. So activation applies the repairs of the
packages already imported, and each other one right after that package's
first import. The same hook runs other code once a module has been imported
(`after_import`), which the legacy path uses to finish setting up modules it
does not want to import eagerly, and runs an import inside a context
(`around_import`), which the CLI's quiet defaults use to catch TensorFlow's
start-up lines.
"""

import contextlib
import importlib.abc
import sys

from slimcompat.runtime.repairs import PACKAGES, apply_loaded

__all__ = ["activate", "after_import", "around_import"]

_CALLBACKS = {}    # module name: [callback(module)], run once it has been imported
_AROUND = {}       # module name: [context manager factory], its import runs inside


class _Watch(importlib.abc.MetaPathFinder):
    """Wraps the real loader of a watched module (as the other finders give it).

    Other finders that wrap loaders the same way ask the rest of sys.meta_path,
    this one included; the guard answers them None instead of asking back.
    """

    def __init__(self):
        self._asking = False

    def find_spec(self, fullname, path=None, target=None):
        if (fullname not in _CALLBACKS and fullname not in _AROUND) or self._asking:
            return None
        self._asking = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = _WatchingLoader(spec.loader)
                    return spec
                if spec is not None:
                    return spec
        finally:
            self._asking = False
        return None


class _WatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        name = module.__name__
        contexts = _AROUND.pop(name, [])
        callbacks = _CALLBACKS.pop(name, [])
        if not _CALLBACKS and not _AROUND:
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Watch)]
        with contextlib.ExitStack() as stack:
            for context in contexts:
                stack.enter_context(context())
            self._loader.exec_module(module)
        for callback in callbacks:
            callback(sys.modules[name])

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _watch():
    if not any(isinstance(f, _Watch) for f in sys.meta_path):
        sys.meta_path.insert(0, _Watch())


def after_import(name, callback):
    """Call `callback(module)` once module `name` is imported: now if it already is."""
    if name in sys.modules:
        callback(sys.modules[name])
        return
    _CALLBACKS.setdefault(name, []).append(callback)
    _watch()


def around_import(name, context):
    """Run the first import of module `name` inside `context()` (a context manager); nothing if it is imported."""
    if name in sys.modules:
        return
    _AROUND.setdefault(name, []).append(context)
    _watch()


def activate():
    """Apply the repairs of each package in PACKAGES now, or when it is imported."""
    for package in PACKAGES:
        if package in sys.modules:
            apply_loaded()
        elif not any(cb is _repair for cb in _CALLBACKS.get(package, ())):
            after_import(package, _repair)


def _repair(module):
    apply_loaded()
