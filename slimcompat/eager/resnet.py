"""The slim ResNets of tf_slim.nets (resnet_v1/v2, 50 to 200) as eager layers.

The net functions and arg scope are tf_slim's own, so the layer's variables are
those of the released slim checkpoints; `arch` on the layer lets the canonical
format (slimcompat.weights) name them.
"""

import functools

import numpy as np

from slimcompat.errors import SlimcompatError
from slimcompat.eager.layer import SlimLayer
from slimcompat.nets import slim_resnet
from slimcompat.nets.arch import ResNet, architecture

__all__ = ["resnet_layer", "slim_net_fn"]

# Any input of at least 32x32 creates every variable; variables do not depend on the size.
_BUILD_INPUT = (1, 32, 32, 3)


def _arch(arch):
    if isinstance(arch, ResNet):
        return arch
    try:
        return architecture(str(arch))
    except ValueError as exc:
        raise SlimcompatError(str(exc)) from None


def slim_net_fn(arch):
    """(tf_slim net function, its module's resnet_arg_scope) for `arch` ('resnet_v2_50' or a ResNet)."""
    return slim_resnet.slim_net_fn(_arch(arch))


def resnet_layer(arch, num_classes=1000, *, weight_decay=1e-4, build=True, name=None):
    """A SlimLayer of tf_slim's `arch` with `num_classes` outputs (None: headless, 2048 features).

    Output [N, num_classes] (pooled and squeezed); `end_points=True` adds slim's
    end points. weight_decay feeds resnet_arg_scope's L2 regularizer (in
    `layer.losses`). build: create the variables now with one small eager
    inference call, so weights can be loaded before the first real call.
    """
    arch = _arch(arch)
    if arch.conv_bias:
        raise SlimcompatError(f"{arch.name}: slim ResNets have no conv biases (conv_bias=True asked)")
    fn, arg_scope = slim_net_fn(arch)
    layer = SlimLayer(fn, arg_scope=functools.partial(arg_scope, weight_decay=weight_decay),
                      squeeze_spatial=True, name=name or arch.name, num_classes=num_classes)
    layer.arch, layer.num_classes = arch, num_classes
    if build:
        layer(np.zeros(_BUILD_INPUT, np.float32), training=False)
    return layer
