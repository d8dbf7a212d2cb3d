"""What a description costs: parameters per canonical tensor and multiply-adds per layer at an input size.

Multiply-adds count convolutions (depthwise ones too) and dense layers (the
usual convention: BatchNorm, biases, pooling and activations are not
counted). Each layer's output size follows the plan: a conv gives
ceil(H / stride) under SAME or explicit padding (they differ only in where
the padding goes), floor((H - k) / s) + 1 under `valid`; a pool (max or
average) `same` ceil(H / s), `pad1` floor((H + 2 - k) / s) + 1, `valid`
floor((H - k) / s) + 1; a flatten leaves one pixel. Side heads (`Aux`) count
where they branch off.
"""

import math

from slimcompat.arch import ops

__all__ = ["layer_costs", "macs", "tensor_sizes", "STATISTICS"]

STATISTICS = ("moving_mean", "moving_variance")


def tensor_sizes(description):
    """{canonical tensor: number of weights}."""
    return {name: math.prod(shape) for name, shape in description.tensors().items()}


def layer_costs(description, input_hw):
    """{canonical conv or dense layer: (multiply-adds, multiply-adds per output pixel, output H x W)}."""
    out = {}
    _walk(description.plan(), tuple(input_hw), out)
    return out


def macs(description, input_hw):
    return sum(cost for cost, _, _ in layer_costs(description, input_hw).values())


def _walk(plan, hw, out):
    for op in plan:
        hw = _op(op, hw, out)
    return hw


def output_size(op, hw):
    """The (height, width) a top-level plan op turns an `hw` map into."""
    return _op(op, hw, {})


def _op(op, hw, out):
    if isinstance(op, (ops.Conv, ops.DepthwiseConv)):
        if op.padding == "valid":
            size = tuple((d - k) // op.stride + 1 for d, k in zip(hw, op.size))
        else:
            size = (math.ceil(hw[0] / op.stride), math.ceil(hw[1] / op.stride))
        per_pixel = op.macs(1)
        out[op.layer] = (per_pixel * size[0] * size[1], per_pixel, size)
        return size
    if isinstance(op, (ops.MaxPool, ops.AvgPool)):
        if op.padding == "same" or op.size == 1:
            return (math.ceil(hw[0] / op.stride), math.ceil(hw[1] / op.stride))
        pad = 2 if op.padding == "pad1" else 0
        return tuple((d + pad - op.size) // op.stride + 1 for d in hw)
    if isinstance(op, (ops.GlobalAvgPool, ops.Flatten)):
        return (1, 1)
    if isinstance(op, ops.Dense):
        per_pixel = op.in_features * op.units
        out[op.layer] = (per_pixel, per_pixel, (1, 1))
        return hw
    if isinstance(op, ops.Residual):
        inner = _walk(op.pre, hw, out)
        _walk(op.shortcut, inner if op.shortcut_from == "pre" else hw, out)
        return _walk(op.post, _walk(op.main, inner, out), out)
    if isinstance(op, ops.Concat):
        sizes = [_walk(branch, hw, out) for branch in op.branches]
        return sizes[0]
    if isinstance(op, ops.Aux):
        _walk(op.ops, hw, out)
    return hw
