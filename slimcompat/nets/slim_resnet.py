"""tf_slim's own ResNet functions, looked up from the architecture description.

The TF1 graph (parity), the eager layer and the test fixtures all build
tf_slim.nets' resnet_v1/resnet_v2 so that their variables are those of the
released slim checkpoints; this is the one place that picks the function.
"""

__all__ = ["slim_net_fn"]


def slim_net_fn(arch):
    """(tf_slim net function, its module's resnet_arg_scope) for a ResNet of slimcompat.nets.arch."""
    import slimcompat  # noqa: F401  (repairs tf_slim first)
    from tf_slim.nets import resnet_v1, resnet_v2
    module = {"resnet_v1": resnet_v1, "resnet_v2": resnet_v2}[arch.family]
    return getattr(module, arch.name), module.resnet_arg_scope
