"""The forward pass a description means, as a small graph of framework-neutral ops.

Every family turns its knobs into one `plan`: a sequence of the ops below,
where a `Residual` or `Concat` unit nests sequences. Builders (Keras, slim,
PyTorch) are interpreters of these few op types, the canonical tensors are the
parameters the plan's `Conv`, `BatchNorm` and `Dense` ops hold, and the
structural diff compares two plans, so a variant is declared once, as data,
and means the same thing everywhere.

Padding of a convolution is `same` (TensorFlow's SAME: for a stride above 1
on an even size the extra row/column goes after), `explicit` (symmetric:
(k-1)//2 before, the rest after, then VALID: slim's `conv2d_same`, Keras'
ZeroPadding2D + VALID, PyTorch's `padding=k//2`) or `valid` (none: Inception
stems, VGG's fully-connected layers held as convolutions). `same` and
`explicit` differ only for a strided kernel larger than 1. Pool padding is
`same`, `pad1` (zero-pad 1 on every side, then VALID) or `valid`; an average
pool with `same` padding divides by the pixels inside the image (TensorFlow's
rule; PyTorch's default `count_include_pad=True` divides by the full window).

Nothing here assumes residual units: a plan may be a plain sequence (VGG,
MobileNet v1), nest `Concat` inside `Residual` (Inception-ResNet), or branch
off an `Aux` head whose value does not flow on (Inception v3's auxiliary
logits).
"""

import dataclasses
from typing import Tuple, Union

__all__ = ["Conv", "DepthwiseConv", "BatchNorm", "Act", "MaxPool", "AvgPool", "GlobalAvgPool", "Flatten", "Dense",
           "Dropout", "Softmax", "Endpoint", "Residual", "Concat", "Aux", "walk", "parametric", "PARAMETRIC",
           "CONV_PADDINGS", "POOL_PADDINGS", "ACTIVATIONS"]

CONV_PADDINGS = ("same", "explicit", "valid")
POOL_PADDINGS = ("same", "pad1", "valid")
ACTIVATIONS = ("relu", "elu", "relu6")


@dataclasses.dataclass(frozen=True)
class Conv:
    """A 2-D convolution; `layer` is its canonical layer name. Kernel HWIO, I = in_channels / groups.

    `kernel` is an int for a square kernel, or (height, width) where they
    differ (Inception v3's 1x7 and 7x1 factorised convolutions); `size` is
    always the pair.
    """

    layer: str
    kernel: Union[int, Tuple[int, int]]
    stride: int
    in_channels: int
    filters: int
    groups: int = 1
    bias: bool = False
    padding: str = "same"

    @property
    def size(self):
        """(kernel height, kernel width)."""
        return tuple(self.kernel) if isinstance(self.kernel, tuple) else (self.kernel, self.kernel)

    @property
    def shape(self):
        return (*self.size, self.in_channels // self.groups, self.filters)

    def tensors(self):
        out = [(f"{self.layer}/kernel", self.shape)]
        return out + ([(f"{self.layer}/bias", (self.filters,))] if self.bias else [])

    def macs(self, out_hw):
        """Multiply-adds for an output of `out_hw` pixels."""
        return out_hw * self.size[0] * self.size[1] * (self.in_channels // self.groups) * self.filters


@dataclasses.dataclass(frozen=True)
class DepthwiseConv:
    """A depthwise 2-D convolution: each input channel convolved with `multiplier` kernels of its own.

    The canonical kernel is TensorFlow's depthwise layout [k, k, channels,
    multiplier] (slim's `depthwise_weights`, Keras' `depthwise_kernel`);
    output channel c * multiplier + m comes from input channel c. PyTorch
    holds it as a grouped conv, [channels * multiplier, 1, k, k].
    """

    layer: str
    kernel: int
    stride: int
    channels: int
    multiplier: int = 1
    bias: bool = False
    padding: str = "same"

    @property
    def shape(self):
        return (self.kernel, self.kernel, self.channels, self.multiplier)

    @property
    def size(self):
        return (self.kernel, self.kernel)

    @property
    def filters(self):
        return self.channels * self.multiplier

    def tensors(self):
        out = [(f"{self.layer}/depthwise_kernel", self.shape)]
        return out + ([(f"{self.layer}/bias", (self.filters,))] if self.bias else [])

    def macs(self, out_hw):
        return out_hw * self.kernel * self.kernel * self.filters


BN_PARAMS = ("gamma", "beta", "moving_mean", "moving_variance")


@dataclasses.dataclass(frozen=True)
class BatchNorm:
    """y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta, per channel.

    scale=False: no gamma at all (slim's Inception nets and keras.applications'
    InceptionV3 leave it out); a target that has one takes ones, exactly.
    """

    layer: str
    channels: int
    epsilon: float
    scale: bool = True

    def tensors(self):
        return [(f"{self.layer}/{p}", (self.channels,)) for p in BN_PARAMS if self.scale or p != "gamma"]


@dataclasses.dataclass(frozen=True)
class Act:
    """relu, relu6 (min(max(x, 0), 6): the MobileNets), or elu with `alpha`."""

    kind: str
    alpha: float = 1.0


@dataclasses.dataclass(frozen=True)
class MaxPool:
    size: int
    stride: int
    padding: str


@dataclasses.dataclass(frozen=True)
class AvgPool:
    """Average pool; with `same` padding the divisor counts only pixels inside the image (TensorFlow)."""

    size: int
    stride: int
    padding: str


@dataclasses.dataclass(frozen=True)
class GlobalAvgPool:
    """Mean over height and width: [N, H, W, C] -> [N, C]."""


@dataclasses.dataclass(frozen=True)
class Flatten:
    """[N, H, W, C] -> [N, H*W*C] in row-major H, W, C order (slim's spatial squeeze when H = W = 1)."""


@dataclasses.dataclass(frozen=True)
class Dense:
    """The classifier; kernel [in_features, units]."""

    layer: str
    in_features: int
    units: int
    bias: bool = True

    def tensors(self):
        out = [(f"{self.layer}/kernel", (self.in_features, self.units))]
        return out + ([(f"{self.layer}/bias", (self.units,))] if self.bias else [])


@dataclasses.dataclass(frozen=True)
class Dropout:
    """Identity at inference; kept in the plan because it is part of what the user wrote."""

    rate: float


@dataclasses.dataclass(frozen=True)
class Softmax:
    """Softmax over the last axis."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """The value at this point of the sequence is the canonical endpoint `name`."""

    name: str


@dataclasses.dataclass(frozen=True)
class Residual:
    """A residual unit: out = post(main(p) + shortcut(p or x)), p = pre(x).

    shortcut () is the identity; shortcut_from says whether the shortcut path
    starts from the unit input x or from p (pre-activation units project p).
    """

    unit: str
    main: Tuple
    shortcut: Tuple = ()
    pre: Tuple = ()
    shortcut_from: str = "input"
    post: Tuple = ()
    scale: float = 1.0        # out = post(scale * main(p) + shortcut): Inception-ResNet's residual scaling


@dataclasses.dataclass(frozen=True)
class Concat:
    """Parallel branches from the same input, concatenated along channels in order."""

    unit: str
    branches: Tuple[Tuple, ...]


@dataclasses.dataclass(frozen=True)
class Aux:
    """A side head: `ops` run on the current value and end at their own endpoints; the main value goes on unchanged.

    Inception v3's auxiliary logits: trained with, ignored at inference, yet
    their tensors are in every checkpoint that has them.
    """

    unit: str
    ops: Tuple


def walk(plan):
    """Every leaf op of `plan` in forward order (pre, shortcut, main, post; branches in order; aux heads in place)."""
    for op in plan:
        if isinstance(op, Residual):
            for part in (op.pre, op.shortcut, op.main, op.post):
                yield from walk(part)
        elif isinstance(op, Concat):
            for branch in op.branches:
                yield from walk(branch)
        elif isinstance(op, Aux):
            yield from walk(op.ops)
        else:
            yield op


PARAMETRIC = (Conv, DepthwiseConv, BatchNorm, Dense)


def parametric(plan):
    """The ops of `plan` that hold canonical tensors (Conv, DepthwiseConv, BatchNorm, Dense), in forward order."""
    return [op for op in walk(plan) if isinstance(op, PARAMETRIC)]
