"""A `tensorflow` module that answers TF1 code with the v1 API.

TF1 programs write `import tensorflow as tf` and then `tf.Session`,
`tf.placeholder`, `tf.contrib.slim`. To run them unmodified, `sys.modules
['tensorflow']` is replaced by this module: the program's own code sees
`tf.compat.v1` (plus `tf.contrib`); everything installed (TensorFlow itself,
Keras, tf-keras, transformers, sonnet, tf-models, tfmot, ...), which also
`import tensorflow`, keeps seeing the real v2 module.

Which is which is decided by where the calling code lives (CodePolicy): files
under the program's own folders (the launched script's folder, or the current
folder for `run -m`) are the program's, unless they sit in an installed
location (site-packages, the standard library); everything else is installed.
Users override it either way by path or by package name (`--v1-code`,
`--v2-code`, SLIMCOMPAT_V1_CODE / SLIMCOMPAT_V2_CODE): a TF2 helper of their
own gets v2, an installed TF1 package gets v1. The choice is made per attribute
lookup from the caller's frame and cached per file, so a library imported later
by the legacy script still works.
"""

import functools
import importlib
import os
import site
import sys
import sysconfig
import types

__all__ = ["V1Module", "CodePolicy", "V1_CODE", "is_installed"]

# Our own modules kept in TF1 form on purpose (the example program): v1 wherever they are installed.
V1_CODE = ("slimcompat.examples",)
_INSTALLED_MARKERS = ("site-packages", "dist-packages")


class CodePolicy:
    """Whether a caller is the program's own (v1) code or installed (v2) code; see the module doc.

    program_roots: folders holding the program's own files.
    v1 / v2: overrides, each a path (file or folder) or a dotted package name;
        the most specific match wins, v2 on a tie.
    """

    def __init__(self, program_roots=(), v1=(), v2=()):
        self.program_roots = [_real(r) for r in program_roots]
        self.v1 = [*V1_CODE, *v1]
        self.v2 = list(v2)
        self._cache = {}

    def __repr__(self):
        return f"CodePolicy(program_roots={self.program_roots}, v1={self.v1}, v2={self.v2})"

    def is_program(self, namespace):
        """Whether code running with globals `namespace` gets the v1 API."""
        name = namespace.get("__name__") or ""
        filename = namespace.get("__file__")
        key = (name, filename)
        if key not in self._cache:
            self._cache[key] = self._decide(name, filename)
        return self._cache[key]

    def _decide(self, name, filename):
        path = _real(filename) if filename else None
        matches = [(_specificity(e, name, path), True) for e in self.v1]
        matches += [(_specificity(e, name, path), False) for e in self.v2]
        override = max(matches, key=lambda m: (m[0], not m[1]), default=(0, False))
        if override[0]:
            return override[1]
        if path is None:
            return name == "__main__"
        if is_installed(path):
            return False
        return any(_under(path, root) for root in self.program_roots)


def _specificity(entry, name, path):
    """How closely override `entry` matches the caller (0: not at all)."""
    if os.sep in entry or entry.endswith(".py") or os.path.exists(entry):
        target = _real(entry)
        return len(target) + 1 if path and _under(path, target) else 0
    return len(entry) if name == entry or name.startswith(entry + ".") else 0


def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _real(path):
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def is_installed(path):
    """Whether file `path` sits in an installed location (site-packages, the standard library)."""
    path = _real(path)
    return any(_under(path, d) for d in _installed_dirs()) or any(m in path.split(os.sep) for m in _INSTALLED_MARKERS)


@functools.lru_cache(maxsize=None)
def _installed_dirs():
    found = set()
    try:
        found.update(site.getsitepackages())
    except AttributeError:
        pass
    found.add(site.getusersitepackages())
    paths = sysconfig.get_paths()
    found.update(paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths)
    return tuple(sorted({_real(d) for d in found if d}))


class V1Module(types.ModuleType):
    """Stands in for the real `tensorflow` in sys.modules (see module doc)."""

    def __init__(self, real, policy):
        super().__init__(real.__name__, real.__doc__)
        for dunder in ("__path__", "__file__", "__spec__", "__loader__", "__package__", "__version__"):
            if hasattr(real, dunder):
                self.__dict__[dunder] = getattr(real, dunder)
        self.__dict__["_slimcompat_real"] = real
        self.__dict__["_slimcompat_v1"] = importlib.import_module("tensorflow.compat.v1")
        self.__dict__["_slimcompat_policy"] = policy

    def __getattr__(self, name):
        if name.startswith("__") or not self._slimcompat_policy.is_program(sys._getframe(1).f_globals):
            return getattr(self._slimcompat_real, name)
        if name == "contrib":
            return importlib.import_module("tensorflow.contrib")
        try:
            return getattr(self._slimcompat_v1, name)
        except AttributeError:
            return getattr(self._slimcompat_real, name)

    def __dir__(self):
        return sorted(set(dir(self._slimcompat_v1)) | {"contrib"})
