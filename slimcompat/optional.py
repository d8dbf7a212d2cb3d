"""Optional dependencies (the `torch` extra): imported when used, or one line naming the extra."""

import importlib

from slimcompat.errors import SlimcompatError

__all__ = ["require", "TORCH_EXTRA"]

TORCH_EXTRA = "pip install 'slimcompat[torch]'"


def require(module, purpose="this"):
    """Import an optional dependency of the `torch` extra, or fail in one line naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SlimcompatError(f"{purpose} needs the optional package {module.split('.')[0]!r}: "
                              f"{TORCH_EXTRA}") from None
