"""Apply the repairs when TensorFlow arrives, not when slimcompat does.

`import slimcompat` must stay cheap (reading a weight file should not pay for
a TensorFlow import), yet `import slimcompat; import tf_slim` must just work.
So activation applies the repairs at once if TensorFlow is already imported,
and otherwise right after the first import of `tensorflow` or `tf_slim`.
"""

import importlib.abc
import sys

from slimcompat.runtime.repairs import apply_all

__all__ = ["activate"]

_TRIGGERS = ("tensorflow", "tf_slim")


class _RepairAfterImport(importlib.abc.MetaPathFinder):
    """Wraps the real loader of a trigger module; repairs once it has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _TRIGGERS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _RepairingLoader(spec.loader)
                return spec
        return None


class _RepairingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _remove_hook()
        apply_all()

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _remove_hook():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RepairAfterImport)]


def activate():
    """Apply the repairs now, or as soon as TensorFlow or tf_slim is imported."""
    if any(name in sys.modules for name in _TRIGGERS):
        apply_all()
    elif not any(isinstance(f, _RepairAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RepairAfterImport())
