"""NumPy's aliases of Python's builtins (`np.float`, `np.int`, ...), which NumPy 1.24 removed.

Up to NumPy 1.19 `np.float` was Python's `float` itself, and likewise for the
names in ALIASES; NumPy 1.20 deprecated them and 1.24 removed them, so a
program of the era (`np.zeros(shape, dtype=np.float)`) now fails with "module
'numpy' has no attribute 'float'". NumPy 2 brought back `np.bool` and
`np.long` as NumPy's own scalar types (numpy.bool, the C long): as a dtype they
mean what bool and int meant, and `run` leaves NumPy's own names alone.

The table is read by both modes: `slimcompat run` serves the aliases the
program's source uses (slimcompat.legacy.program finds them) on numpy, with one
stderr line naming the first use of each (`install`); `slimcompat migrate`
rewrites `np.float` to `float` (slimcompat.migrate.numpy_names).
"""

import builtins
import functools
import sys

__all__ = ["ALIASES", "install"]

# {alias on numpy: the Python builtin it was}
ALIASES = {"float": "float", "int": "int", "bool": "bool", "object": "object", "str": "str",
           "complex": "complex", "long": "int", "unicode": "str"}

_SAID = set()


def install(names):
    """Serve on numpy the aliases in `names` that it lacks, from numpy's import on."""
    from slimcompat.runtime.activation import after_import
    after_import("numpy", functools.partial(_serve, frozenset(names) & set(ALIASES)))


def _serve(names, numpy):
    served = {name for name in names if name not in numpy.__dict__}
    original = numpy.__dict__.get("__getattr__")
    if getattr(original, "_slimcompat_aliases", None) is not None:
        original._slimcompat_aliases.update(served)
        return
    if not served:
        return

    def __getattr__(attr):
        if attr in __getattr__._slimcompat_aliases:
            builtin = ALIASES[attr]
            if attr not in _SAID:
                _SAID.add(attr)
                frame = sys._getframe(1)
                print(f"slimcompat run: {frame.f_code.co_filename}:{frame.f_lineno}: np.{attr}: NumPy 1.24 removed "
                      f"this alias of Python's {builtin}; served as {builtin}, as NumPy up to 1.23 meant it",
                      file=sys.stderr)
            return getattr(builtins, builtin)
        if original is None:
            raise AttributeError(f"module {numpy.__name__!r} has no attribute {attr!r}")
        return original(attr)

    __getattr__._slimcompat_aliases = set(served)
    numpy.__getattr__ = __getattr__
