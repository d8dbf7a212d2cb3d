"""Serve modules under names they no longer have.

TensorFlow 2 and Keras 3 moved or deleted modules that older code imports by
name (`tf_keras.legacy_tf_layers`, `tensorflow.contrib.slim`,
`keras.engine.topology`). One import hook answers all of them: a table of
*prefix* aliases (`old.pkg[.sub]` -> `new.pkg[.sub]`, so every submodule
follows) and of *composite* modules (one legacy name whose attributes come from
several modern modules, searched in order, with renamed attributes listed).

A composite may also stand for something that is gone but that programs import
at top level and only use behind a flag (`tensorflow.contrib.quantize`): it
imports, and each of its names fails with one line when called.

The hook resolves lazily: nothing is imported until the legacy name is, so
`import slimcompat` stays cheap.
"""

import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Mapping, Optional, Tuple

from slimcompat.errors import SlimcompatError

__all__ = ["AliasFinder", "Composite", "RemovedAPIError", "UnsupportedModuleError", "find_spec_or_none",
           "import_dotted", "install_finder", "lazy_submodules", "resolve_prefix"]


def resolve_prefix(prefixes, fullname):
    """`fullname` renamed by the longest matching prefix in {old: new}, or None."""
    best = max((p for p in prefixes if fullname == p or fullname.startswith(p + ".")),
               key=len, default=None)
    if best is None:
        return None
    return prefixes[best] + fullname[len(best):]


class UnsupportedModuleError(ModuleNotFoundError, SlimcompatError):
    """A legacy module slimcompat knows of but does not provide."""


class RemovedAPIError(SlimcompatError):
    """A program called something that no longer exists and that slimcompat only lets it import."""


@dataclasses.dataclass(frozen=True)
class Composite:
    """A legacy module whose names come from elsewhere.

    sources: modules searched in order for each attribute.
    names: {attribute: "dotted.path"} for attributes that moved under another
        name (`_obtain_input_shape` -> `...imagenet_utils.obtain_input_shape`);
        looked up before the sources.
    removed: why the rest is gone; when set, any other attribute (and any
        submodule) is a stand-in that raises RemovedAPIError with this reason
        when called, so the import itself succeeds.
    call: "dotted.path" of the function the module also was, called when the
        module is (Keras 2.0-2.1's `keras.layers.merge` was Keras 1's function).
    """

    sources: Tuple[str, ...] = ()
    note: str = ""
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    removed: Optional[str] = None
    call: Optional[str] = None


def _composite(entry):
    """A Composite from a table entry: a Composite, or a (sources, note) pair."""
    return entry if isinstance(entry, Composite) else Composite(tuple(entry[0]), entry[1])


def import_dotted(path):
    """The object named by `path` ("package.module.attr"), importing the module part."""
    module, _, attr = path.rpartition(".")
    try:
        return importlib.import_module(path)
    except ImportError:
        if not module:
            raise
    return getattr(importlib.import_module(module), attr)


class _Removed:
    """Stands in for a name that is gone: attribute access works, calling fails in one line."""

    def __init__(self, name, reason):
        self._name, self._reason = name, reason

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Removed(f"{self._name}.{attr}", self._reason)

    def __call__(self, *args, **kwargs):
        raise RemovedAPIError(f"{self._name}: {self._reason}")

    def __mro_entries__(self, bases):
        raise RemovedAPIError(f"{self._name}: {self._reason}")

    def __repr__(self):
        return f"<removed {self._name}: {self._reason}>"


def find_spec_or_none(name):
    """importlib.util.find_spec, but None where a parent package fails to import or is no package."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target):
        self._target = target

    def create_module(self, spec):
        module = importlib.import_module(self._target)
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamps the alias spec on the shared module; its
        # own spec must survive so reload() and pickling keep working.
        module.__spec__ = self._own_spec


class _CompositeLoader(importlib.abc.Loader):
    def __init__(self, composite):
        self._composite = composite

    def create_module(self, spec):
        kind = _CompositeModule if self._composite.call is None else _CallableCompositeModule
        return kind(spec.name, self._composite)

    def exec_module(self, module):
        pass


class _CompositeModule(types.ModuleType):
    """A legacy namespace whose names come from several modern modules."""

    def __init__(self, name, composite):
        super().__init__(name, composite.note)
        self.__dict__["_slimcompat_sources"] = composite.sources
        self.__dict__["_slimcompat_composite"] = composite

    def __getattr__(self, attr):
        if attr == "__version__" and self._slimcompat_sources:
            return getattr(importlib.import_module(self._slimcompat_sources[0]), attr)
        if attr == "__all__":   # `from keras.layers import *`: the names a plain module would give
            return sorted(n for n in self.__dir__() if not n.startswith("_")
                          and not isinstance(getattr(self, n, None), types.ModuleType))
        if attr.startswith("__"):
            raise AttributeError(attr)
        composite = self._slimcompat_composite
        if attr in composite.names:
            value = import_dotted(composite.names[attr])
            setattr(self, attr, value)
            return value
        for source in self._slimcompat_sources:
            module = importlib.import_module(source)
            if hasattr(module, attr):
                value = getattr(module, attr)
                setattr(self, attr, value)
                return value
        if composite.removed is not None:
            return _Removed(f"{self.__name__}.{attr}", composite.removed)
        try:
            return importlib.import_module(f"{self.__name__}.{attr}")
        except UnsupportedModuleError:
            raise
        except ImportError:
            pass
        raise AttributeError(
            f"{self.__name__}.{attr} is not provided by slimcompat "
            f"(looked in {', '.join(self._slimcompat_sources) or 'nothing'})"
        )

    def __dir__(self):
        names = set(super().__dir__()) | set(self._slimcompat_composite.names)
        for source in self._slimcompat_sources:
            names.update(n for n in dir(importlib.import_module(source)) if not n.startswith("_"))
        return sorted(names)


class _CallableCompositeModule(_CompositeModule):
    """A legacy name that was a module and a function both."""

    def __call__(self, *args, **kwargs):
        return import_dotted(self._slimcompat_composite.call)(*args, **kwargs)


class AliasFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder for the modules under `root`, driven by three tables.

    prefixes: {legacy_prefix: modern_prefix}; `legacy_prefix.x.y` imports
        `modern_prefix.x.y`. Longest legacy prefix wins.
    composites: {legacy_name: Composite or ((modern_module, ...), docstring)};
        checked before prefixes. Parents of any entry
        (`tensorflow.contrib.layers.python`) are served as empty namespaces
        unless `namespaces` is False (a root whose real package exists, such
        as `keras`, must keep its real subpackages). Submodules of a
        composite with `removed` set are served as more of the same.
    unsupported: {legacy_prefix: reason}; importing anything under it fails at
        once with one line, instead of deep inside a model later.
    """

    def __init__(self, root, prefixes=None, composites=None, unsupported=None, namespaces=True):
        self.root = root
        self.prefixes = dict(prefixes or {})
        self.composites = {name: _composite(entry) for name, entry in (composites or {}).items()}
        self.unsupported = dict(unsupported or {})
        self.namespaces = namespaces

    def find_spec(self, fullname, path=None, target=None):
        if not (fullname == self.root or fullname.startswith(self.root + ".")):
            return None
        if fullname in self.composites:
            return self._composite_spec(fullname, self.composites[fullname])
        removed = self._removed_parent(fullname)
        if removed is not None:
            return self._composite_spec(fullname, Composite(note=f"{fullname}: {removed}", removed=removed))
        modern = resolve_prefix(self.prefixes, fullname)
        modern_spec = find_spec_or_none(modern) if modern else None
        if modern_spec is not None:
            return importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(modern), origin=modern_spec.origin,
                is_package=modern_spec.submodule_search_locations is not None)
        if self.namespaces and any(key.startswith(fullname + ".") for key in [*self.prefixes, *self.composites]):
            return self._composite_spec(fullname, Composite(note=f"Namespace of {fullname}.* modules."))
        if modern is not None:
            raise UnsupportedModuleError(f"{fullname}: no module {modern} to serve it", name=fullname)
        for legacy, reason in self.unsupported.items():
            if fullname == legacy or fullname.startswith(legacy + "."):
                raise UnsupportedModuleError(f"{fullname}: {reason}", name=fullname)
        return None

    def _removed_parent(self, fullname):
        for name, composite in self.composites.items():
            if composite.removed is not None and fullname.startswith(name + "."):
                return composite.removed
        return None

    @staticmethod
    def _composite_spec(fullname, composite):
        return importlib.machinery.ModuleSpec(fullname, _CompositeLoader(composite), is_package=True)


def lazy_submodules(module):
    """Let `module.sub` import `module.sub` on first access (PEP 562), as TF1's
    contrib packages did for their subpackages (`slim.nets.resnet_v2`)."""
    if "__getattr__" in module.__dict__:
        return

    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"{module.__name__}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}") from None

    module.__getattr__ = __getattr__


def install_finder(finder):
    """Put `finder` first on sys.meta_path once (by root); return the one in place."""
    for existing in sys.meta_path:
        if isinstance(existing, AliasFinder) and existing.root == finder.root:
            return existing
    sys.meta_path.insert(0, finder)
    return finder
