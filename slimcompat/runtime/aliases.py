"""Serve modules under names they no longer have.

TensorFlow 2 moved or deleted modules that TF1-era code imports by name
(`tf_keras.legacy_tf_layers`, `tensorflow.contrib.slim`). One import hook
answers both: a table of *prefix* aliases (`old.pkg[.sub]` -> `new.pkg[.sub]`,
so every submodule follows) and of *composite* modules (one legacy name whose
attributes come from several modern modules, searched in order).

The hook resolves lazily: nothing is imported until the legacy name is, so
`import slimcompat` stays cheap.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

from slimcompat.errors import SlimcompatError

__all__ = ["AliasFinder", "UnsupportedModuleError", "find_spec_or_none", "install_finder", "lazy_submodules",
           "resolve_prefix"]


def resolve_prefix(prefixes, fullname):
    """`fullname` renamed by the longest matching prefix in {old: new}, or None."""
    best = max((p for p in prefixes if fullname == p or fullname.startswith(p + ".")),
               key=len, default=None)
    if best is None:
        return None
    return prefixes[best] + fullname[len(best):]


class UnsupportedModuleError(ModuleNotFoundError, SlimcompatError):
    """A legacy module slimcompat knows of but does not provide."""


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
    def __init__(self, sources, note):
        self._sources = sources
        self._note = note

    def create_module(self, spec):
        return _CompositeModule(spec.name, self._sources, self._note)

    def exec_module(self, module):
        pass


class _CompositeModule(types.ModuleType):
    """A legacy namespace whose names come from several modern modules."""

    def __init__(self, name, sources, note):
        super().__init__(name, note)
        self.__dict__["_slimcompat_sources"] = tuple(sources)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        for source in self._slimcompat_sources:
            module = importlib.import_module(source)
            if hasattr(module, attr):
                value = getattr(module, attr)
                setattr(self, attr, value)
                return value
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
        names = set(super().__dir__())
        for source in self._slimcompat_sources:
            names.update(n for n in dir(importlib.import_module(source)) if not n.startswith("_"))
        return sorted(names)


class AliasFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder for the modules under `root`, driven by three tables.

    prefixes: {legacy_prefix: modern_prefix}; `legacy_prefix.x.y` imports
        `modern_prefix.x.y`. Longest legacy prefix wins.
    composites: {legacy_name: ((modern_module, ...), docstring)}; attributes
        are looked up in order. Checked before prefixes. Parents of any entry
        (`tensorflow.contrib.layers.python`) are served as empty namespaces.
    unsupported: {legacy_prefix: reason}; importing anything under it fails at
        once with one line, instead of deep inside a model later.
    """

    def __init__(self, root, prefixes=None, composites=None, unsupported=None):
        self.root = root
        self.prefixes = dict(prefixes or {})
        self.composites = dict(composites or {})
        self.unsupported = dict(unsupported or {})

    def find_spec(self, fullname, path=None, target=None):
        if not (fullname == self.root or fullname.startswith(self.root + ".")):
            return None
        if fullname in self.composites:
            sources, note = self.composites[fullname]
            return self._composite_spec(fullname, sources, note)
        modern = resolve_prefix(self.prefixes, fullname)
        modern_spec = find_spec_or_none(modern) if modern else None
        if modern_spec is not None:
            return importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(modern), is_package=modern_spec.submodule_search_locations is not None)
        if any(key.startswith(fullname + ".") for key in [*self.prefixes, *self.composites]):
            return self._composite_spec(fullname, (), f"Namespace of {fullname}.* modules.")
        if modern is not None:
            raise UnsupportedModuleError(f"{fullname}: no module {modern} to serve it", name=fullname)
        for legacy, reason in self.unsupported.items():
            if fullname == legacy or fullname.startswith(legacy + "."):
                raise UnsupportedModuleError(f"{fullname}: {reason}", name=fullname)
        return None

    @staticmethod
    def _composite_spec(fullname, sources, note):
        return importlib.machinery.ModuleSpec(
            fullname, _CompositeLoader(sources, note), is_package=True)


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
