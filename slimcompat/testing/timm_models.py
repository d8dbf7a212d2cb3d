"""timm's own model code on the CPU torch the tests pin.

timm imports torchvision when it is imported, and PyPI's torchvision needs
the shim of `slimcompat.testing.torchvision_models` beside the CPU torch;
`timm()` imports torchvision through it first. The models that tests load
converted weights into are timm's, unmodified and randomly initialised
(`pretrained=False`: nothing is downloaded).
"""

import importlib
import importlib.util

from slimcompat.testing import torchvision_models

__all__ = ["timm", "available"]


def available():
    return torchvision_models.available() and importlib.util.find_spec("timm") is not None


def timm():
    """The timm module (ImportError when torch, torchvision or timm is not installed)."""
    if importlib.util.find_spec("timm") is None:
        raise ImportError("timm is not installed (tools/install.sh --test installs it)")
    torchvision_models.torchvision()
    return importlib.import_module("timm")
