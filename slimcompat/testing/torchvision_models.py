"""torchvision's own model code on the CPU torch the tests pin.

PyPI's torchvision wheels are built against CUDA torch, so their C++
extension (detection ops: nms, roi_align, ...) does not load beside the CPU
torch. The classification models (VGG, ResNet, Wide ResNet, Inception v3,
MobileNet v2) are plain Python over torch and never call those ops; only
torchvision's import-time registration of fake kernels for `nms` and `qnms`
needs their schemas to exist. `torchvision()` declares those two schemas when
the extension is missing, then imports torchvision: the models that tests
load converted weights into are torchvision's, unmodified.
"""

import importlib
import importlib.util

__all__ = ["torchvision", "available"]

# The two ops torchvision/_meta_registrations.py registers fake kernels for at import.
_SCHEMAS = ("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_declared = []


def available():
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("torchvision") is not None


def torchvision():
    """The torchvision module (ImportError when torch or torchvision is not installed)."""
    import torch
    if not _declared and not _extension_loads(torch):
        library = torch.library.Library("torchvision", "DEF")
        for schema in _SCHEMAS:
            library.define(schema)
        _declared.append(library)        # a Library drops its definitions when collected
    return importlib.import_module("torchvision")


def _extension_loads(torch):
    spec = importlib.util.find_spec("torchvision")
    if spec is None:
        raise ImportError("torchvision is not installed (tools/install.sh --test installs it)")
    import os
    try:
        torch.ops.load_library(os.path.join(os.path.dirname(spec.origin), "_C.so"))
    except (OSError, RuntimeError):
        return False
    return True
