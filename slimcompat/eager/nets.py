"""Every described network as an eager layer: slimcompat's slim nets, run by SlimLayer.

The model functions are `slimcompat.nets.slim_net`'s (op for op tf_slim's own
for resnet_v1/v2_50..200), so the layer's variables are those of slim
checkpoints; `description` on the layer lets the canonical format
(slimcompat.weights) name them.
"""

import functools

import numpy as np

from slimcompat.eager.layer import SlimLayer

__all__ = ["net_layer", "resnet_layer", "slim_net_fn"]

# Any input of at least 32x32 creates every variable; variables do not depend on the size.
_BUILD_INPUT = (1, 32, 32, 3)


def slim_net_fn(description):
    """(slim model function, its arg scope function) of a description or name ('resnet_v2_50')."""
    from slimcompat.nets import slim_net
    description = slim_net.described(description)
    return slim_net.net_fn(description), functools.partial(slim_net.arg_scope_for, description)


def net_layer(description, num_classes="default", *, weight_decay=None, build=True, name=None):
    """A SlimLayer computing `description` (a name such as 'resnet_v1_18', or a description with variants).

    num_classes: the description's by default; None for a headless net. Output
    [N, num_classes] (pooled and squeezed); `end_points=True` adds the end
    points. weight_decay feeds the L2 regularizer (in `layer.losses`; default
    the description's l2, else slim's 1e-4). build: create the variables now
    with one small eager inference call, so weights can be loaded first.
    """
    from slimcompat.nets import slim_net
    description = slim_net.described(description)
    if num_classes != "default" and num_classes != description.num_classes:
        description = description.replace(num_classes=num_classes,
                                          background_class=description.background_class and bool(num_classes))
    fn, arg_scope = slim_net_fn(description)
    layer = SlimLayer(fn, arg_scope=functools.partial(arg_scope, weight_decay=weight_decay),
                      squeeze_spatial=True, name=name or description.name)
    layer.description = description
    layer.num_classes = description.num_classes
    if build:
        layer(np.zeros(_BUILD_INPUT, np.float32), training=False)
    return layer


resnet_layer = net_layer  # the name of slimcompat 0.1
