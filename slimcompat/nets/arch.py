"""One description of each ResNet, and the canonical layers it implies.

Every implementation slimcompat converts between (slim resnet_v1/v2, Keras
ResNet50..152 and ResNet50V2..152V2, the Keras-1 ResNet50 of 2016) is a
bottleneck ResNet: a stem, four stages of units, a classifier. What differs
between them is data: depths per stage, pre-activation or not, which convs
carry biases, where the stride of a stage sits, BatchNorm epsilon, how the
stem pools. This module holds that data; the builders, the canonical names and
every converter's name map are derived from it. A new depth is one line in
UNITS.

Canonical layer names are framework-neutral: `stem/conv`, `stem/conv/bn`,
`stage{s}/unit{u}/{preact,shortcut,conv1,conv2,conv3}[/bn]`, `postnorm`,
`logits` (s and u count from 1). A tensor is `{layer}/{param}`, param one of
kernel, bias, gamma, beta, moving_mean, moving_variance. Kernels are HWIO;
the classifier kernel is stored as a dense [features, classes] matrix.
"""

import dataclasses
from typing import Optional, Tuple

__all__ = ["ResNet", "Layer", "UNITS", "FAMILIES", "STRIDE_PLACEMENTS", "architecture",
           "architectures", "BN_PARAMS"]

UNITS = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}
FAMILIES = ("resnet_v1", "resnet_v2")
WIDTHS = (64, 128, 256, 512)
EXPANSION = 4
STEM_WIDTH = 64
BN_PARAMS = ("gamma", "beta", "moving_mean", "moving_variance")

# Where a stage's spatial stride sits. Same tensor shapes either way, so a
# mapping across them loads without error and computes something else.
STRIDE_PLACEMENTS = {
    "last_unit_3x3": "slim (resnet_v1 and v2) and Keras ResNetV2: the 3x3 conv of a stage's last unit",
    "first_unit_1x1": "Caffe and Keras ResNet50/101/152: the first 1x1 conv (and shortcut) of a stage's first unit",
}


@dataclasses.dataclass(frozen=True)
class Layer:
    """One canonical layer: a conv, a BatchNorm or the dense classifier."""

    name: str
    kind: str                      # "conv", "bn" or "dense"
    shape: Tuple[int, ...]         # kernel HWIO for conv, [in, out] for dense, [channels] for bn
    bias: bool = False

    def tensors(self):
        """[(canonical tensor name, shape)] of this layer."""
        if self.kind == "bn":
            return [(f"{self.name}/{p}", self.shape) for p in BN_PARAMS]
        out = [(f"{self.name}/kernel", self.shape)]
        if self.bias:
            out.append((f"{self.name}/bias", (self.shape[-1],)))
        return out


@dataclasses.dataclass(frozen=True)
class ResNet:
    """A bottleneck ResNet as data (see module doc)."""

    family: str
    depth: int
    conv_bias: bool = False        # resnet_v1 only: Keras/Caffe convs carry a bias before their BN

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"unknown ResNet family {self.family!r}; known: {', '.join(FAMILIES)}")
        if self.depth not in UNITS:
            raise ValueError(f"unknown ResNet depth {self.depth}; known: {', '.join(map(str, UNITS))}")

    @property
    def name(self):
        return f"{self.family}_{self.depth}"

    @property
    def preact(self):
        return self.family == "resnet_v2"

    @property
    def units(self):
        return UNITS[self.depth]

    @property
    def features(self):
        return WIDTHS[-1] * EXPANSION

    def stage_io(self):
        """[(stage, units, bottleneck width, input channels, output channels)]."""
        rows, channels = [], STEM_WIDTH
        for s, (n, width) in enumerate(zip(self.units, WIDTHS), start=1):
            rows.append((s, n, width, channels, width * EXPANSION))
            channels = width * EXPANSION
        return rows

    def layers(self, num_classes: Optional[int] = 1000):
        """Canonical layers in forward order; no classifier when num_classes is None."""
        v2 = self.preact
        out = [Layer("stem/conv", "conv", (7, 7, 3, STEM_WIDTH), bias=v2 or self.conv_bias)]
        if not v2:
            out.append(Layer("stem/conv/bn", "bn", (STEM_WIDTH,)))
        for s, n, width, c_in, c_out in self.stage_io():
            for u in range(1, n + 1):
                unit = f"stage{s}/unit{u}"
                unit_in = c_in if u == 1 else c_out
                if v2:
                    out.append(Layer(f"{unit}/preact", "bn", (unit_in,)))
                if u == 1:
                    out.append(Layer(f"{unit}/shortcut", "conv", (1, 1, unit_in, c_out), bias=v2 or self.conv_bias))
                    if not v2:
                        out.append(Layer(f"{unit}/shortcut/bn", "bn", (c_out,)))
                convs = [("conv1", 1, unit_in, width), ("conv2", 3, width, width), ("conv3", 1, width, c_out)]
                for conv, k, i, o in convs:
                    last = conv == "conv3"
                    out.append(Layer(f"{unit}/{conv}", "conv", (k, k, i, o), bias=(v2 and last) or self.conv_bias))
                    if not (v2 and last):
                        out.append(Layer(f"{unit}/{conv}/bn", "bn", (o,)))
        if v2:
            out.append(Layer("postnorm", "bn", (self.features,)))
        if num_classes is not None:
            out.append(Layer("logits", "dense", (self.features, num_classes), bias=True))
        return out

    def tensors(self, num_classes: Optional[int] = 1000):
        """{canonical tensor name: shape} in forward order."""
        return dict(t for layer in self.layers(num_classes) for t in layer.tensors())

    def stage_of(self, tensor_name):
        """The endpoint a canonical tensor belongs to: 'stem', 'stage{s}', 'postnorm' or 'logits'."""
        return tensor_name.split("/", 1)[0]


def architecture(name, conv_bias=False):
    """ResNet from a name like 'resnet_v2_50'."""
    family, _, depth = name.rpartition("_")
    if not depth.isdigit():
        raise ValueError(f"not an architecture name: {name!r} (expected e.g. resnet_v2_50)")
    return ResNet(family, int(depth), conv_bias=conv_bias)


def architectures():
    """Every (family, depth) ResNet slimcompat describes."""
    return [ResNet(f, d) for f in FAMILIES for d in UNITS]
