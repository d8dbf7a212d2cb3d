"""Where a name under `tensorflow.contrib` lives now, read from the import table.

`slimcompat run` serves legacy names lazily through the import hook; `migrate`
has to write the modern name into the source instead. Both read
slimcompat.legacy.contrib, so a migrated file uses exactly what the hook would
have served. Every answer is checked against the installed packages: a
rewrite to a name that does not exist only moves the failure to run time.
"""

import dataclasses
import functools
import importlib
import inspect

from slimcompat.legacy import contrib
from slimcompat.runtime.aliases import find_spec_or_none

__all__ = ["CONTRIB", "Modern", "NotProvided", "normalize", "is_contrib", "resolve",
           "composite_home", "is_module"]

CONTRIB = "tensorflow.contrib"
_V1_CONTRIB = "tensorflow.compat.v1.contrib"


@dataclasses.dataclass(frozen=True)
class Modern:
    """A modern dotted `name`, and the `module` to import for it to resolve."""

    name: str
    module: str

    @property
    def is_module(self):
        return self.name == self.module


class NotProvided(LookupError):
    """The legacy name has no modern home; the message says which and why."""


def normalize(legacy):
    """`tensorflow.compat.v1.contrib.x` (TF 1.15 spelling) as `tensorflow.contrib.x`."""
    if legacy == _V1_CONTRIB or legacy.startswith(_V1_CONTRIB + "."):
        return CONTRIB + legacy[len(_V1_CONTRIB):]
    return legacy


def is_contrib(legacy):
    return legacy == CONTRIB or legacy.startswith(CONTRIB + ".")


@functools.lru_cache(maxsize=None)
def is_module(name):
    return find_spec_or_none(name) is not None


@functools.lru_cache(maxsize=None)
def resolve(legacy):
    """The Modern home of a `tensorflow.contrib...` name; NotProvided if none.

    Composites are looked up before prefixes, in the order their sources are
    listed, as the import hook does.
    """
    composite = _composite_of(legacy)
    if composite is not None and (legacy == composite or contrib.modern_name(legacy) is None):
        if legacy == composite:
            home = composite_home(composite)
            return Modern(home, home)
        attr, *rest = legacy[len(composite) + 1:].split(".")
        return _existing(".".join([_composite_source(composite, attr), attr, *rest]), legacy)
    modern = contrib.modern_name(legacy)
    if modern is None:
        raise NotProvided(_unsupported(legacy))
    return _existing(modern, legacy)


def _composite_of(legacy):
    found = [c for c in contrib.COMPOSITES if legacy == c or legacy.startswith(c + ".")]
    return max(found, key=len, default=None)


def _existing(modern, legacy):
    parts = modern.split(".")
    for i in range(len(parts), 0, -1):
        module = ".".join(parts[:i])
        if is_module(module):
            break
    else:
        raise NotProvided(f"{legacy}: no module {parts[0]} is installed to serve it")
    value = importlib.import_module(module)
    for attr in parts[i:]:
        if not hasattr(value, attr):
            raise NotProvided(f"{legacy}: {module} has no {'.'.join(parts[i:])}")
        value = getattr(value, attr)
    return Modern(modern, module)


def _composite_source(composite, attr):
    """The module that serves `composite.attr`: the composite's home if it holds
    the very same object (shorter source, one import), else the first source."""
    sources, _ = contrib.COMPOSITES[composite]
    for source in sources:
        module = importlib.import_module(source)
        if hasattr(module, attr):
            home = composite_home(composite)
            if getattr(importlib.import_module(home), attr, None) is getattr(module, attr):
                return home
            return source
    raise NotProvided(f"{composite}.{attr}: not provided by slimcompat "
                      f"(looked in {', '.join(sources)})")


@functools.lru_cache(maxsize=None)
def composite_home(composite):
    """The one module that best stands for a composite in `import ... as x`.

    Candidates are the tf_slim packages on the way to each source; the winner
    holds, as the same objects, most of the functions and classes tf_slim
    defines in the sources (ties go to the earlier candidate). Names it lacks
    are rewritten to their own source at each use.
    """
    sources, _ = contrib.COMPOSITES[composite]
    candidates = []
    for source in sources:
        parts = source.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if parts[0] == "tf_slim" and name not in candidates:
                candidates.append(name)
    if not candidates:
        return sources[0]
    api = {}
    for source in sources:
        for attr, value in vars(importlib.import_module(source)).items():
            if (not attr.startswith("_") and attr not in api
                    and (inspect.isfunction(value) or inspect.isclass(value))
                    and getattr(value, "__module__", "").startswith("tf_slim")):
                api[attr] = value

    def score(name):
        module = importlib.import_module(name)
        return sum(getattr(module, attr, None) is value for attr, value in api.items())

    return max(candidates, key=lambda name: (score(name), -candidates.index(name)))


def _unsupported(legacy):
    module = ".".join(legacy.split(".")[:3])
    for prefix, reason in contrib.UNSUPPORTED.items():
        if legacy == prefix or legacy.startswith(prefix + "."):
            return f"{module}: {reason}"
    return f"{module}: not provided by slimcompat"
