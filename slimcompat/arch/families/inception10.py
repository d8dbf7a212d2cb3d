"""Inception10 as data: the compact InceptionNet of seed 003 (TF 2.1, CIFAR-10).

A stem ConvBNAct, then `num_blocks` stages of two InceptionBlk units (the
first strided, widths doubling per stage), global average pooling and a dense
classifier. An InceptionBlk has four branches on the same input, each
ConvBNAct (conv with bias, BatchNorm, ReLU) of `ch` filters, concatenated to
4 * ch channels: 1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3/1 max pool (SAME) then
1x1. The unit's stride sits on the first conv of every branch (the 1x1s).

Canonical layers: `stem/conv[/bn]`, `stage{s}/unit{u}/branch{k}/conv{j}[/bn]`
(k 1..4, j 1..2), `logits`; endpoints `stem`, `stage{s}/unit{u}`, `pooled`,
`logits`, as for ResNets.
"""

import dataclasses
import itertools
from typing import Optional

from slimcompat.arch import ops
from slimcompat.arch.description import Description, check_knobs, check_size, common, conv_bn_act, head_ops, knob
from slimcompat.arch.family import Family
from slimcompat.errors import SlimcompatError

__all__ = ["Inception10", "FAMILY"]

# (branch, [(conv kernel, strided)]); branch 4 starts with the pool.
_BRANCHES = ((1, ((1, True),)), (2, ((1, True), (3, False))), (3, ((1, True), (5, False))), (4, ((1, True),)))


@dataclasses.dataclass(frozen=True)
class Inception10(Description):
    num_blocks: int = knob(2, "stages of two Inception units", "shape", bounds=(1, 8))
    init_ch: int = knob(16, "initial width", "shape", bounds=(1, 1024))
    units_per_block: int = knob(2, "units per stage", "shape", bounds=(1, 64))
    conv_bias: bool = common("conv_bias", True)
    padding: str = common("padding", "same")
    activation: str = common("activation", "relu")
    elu_alpha: float = common("elu_alpha", 1.0)
    bn_epsilon: float = common("bn_epsilon", 1e-3)
    l2: float = common("l2", 0.0)
    num_classes: Optional[int] = common("num_classes", 10)
    background_class: bool = common("background_class", False)
    dropout: float = common("dropout", 0.0)
    softmax: bool = common("softmax", True)

    family = "inception10"

    @property
    def input_size(self):
        return (32, 32)

    @property
    def name(self):
        return "inception10"

    def scheme_constants(self):
        return {"scope": self.name, "unit": "inception"}

    @property
    def features(self):
        return 4 * self.init_ch * 2 ** (self.num_blocks - 1)

    def summary(self):
        return f"{self.num_blocks} stages of {self.units_per_block} units from {self.init_ch} channels, " \
               f"{self.num_classes} classes"

    def _plan(self):
        act = ops.Act(self.activation, self.elu_alpha) if self.activation == "elu" else ops.Act("relu")
        common = dict(epsilon=self.bn_epsilon, act=act, bias=self.conv_bias, padding=self.padding)
        out = conv_bn_act("stem/conv", 3, 1, 3, self.init_ch, **common)
        out.append(ops.Endpoint("stem"))
        channels, ch = self.init_ch, self.init_ch
        for s in range(1, self.num_blocks + 1):
            for u in range(1, self.units_per_block + 1):
                stride = 2 if u == 1 else 1
                unit = f"stage{s}/unit{u}"
                branches = []
                for k, convs in _BRANCHES:
                    branch = [ops.MaxPool(3, 1, "same")] if k == 4 else []
                    c_in = channels
                    for j, (kernel, strided) in enumerate(convs, start=1):
                        layer = f"{unit}/branch{k}/conv{j}"
                        branch += conv_bn_act(layer, kernel, stride if strided else 1, c_in, ch, **common)
                        c_in = ch
                    branches.append(tuple(branch))
                out += [ops.Concat(unit, tuple(branches)), ops.Endpoint(unit)]
                channels = 4 * ch
            ch *= 2
        out += head_ops(self.features, self.num_classes, self.dropout, self.softmax)
        return tuple(out)


_UNIT = "stage{s}/unit{u}"
_BRANCH = "stage{s}/unit{u}/branch{k}/conv{j}"
# Seed 003 is Keras code; its slim and torchvision names are slimcompat's builders', in those schemes' styles.
LAYERS = {
    "slim": (("stem/conv", "{scope}/conv1"), ("stem/conv/bn", "{scope}/conv1/BatchNorm"),
             (_BRANCH, "{scope}/block{s}/unit_{u}/{unit}/branch{k}/conv{j}"),
             (f"{_BRANCH}/bn", "{scope}/block{s}/unit_{u}/{unit}/branch{k}/conv{j}/BatchNorm"),
             ("logits", "{scope}/logits")),
    "keras": (("stem/conv", "conv1_conv"), ("stem/conv/bn", "conv1_bn"),
              (_BRANCH, "conv{s+1}_block{u}_branch{k}_{j}_conv"), (f"{_BRANCH}/bn", "conv{s+1}_block{u}_branch{k}_{j}_bn"),
              ("logits", "predictions")),
    "torchvision": (("stem/conv", "conv1"), ("stem/conv/bn", "bn1"), (_BRANCH, "layer{s}.{u-1}.branch{k}.conv{j}"),
                    (f"{_BRANCH}/bn", "layer{s}.{u-1}.branch{k}.bn{j}"), ("logits", "fc")),
}
ENDPOINTS = {
    "slim": (("stem", "{scope}/stem"), (_UNIT, "{scope}/block{s}/unit_{u}/{unit}"), ("pooled", "{scope}/pool5"),
             ("logits", "{scope}/logits")),
    "keras.applications": (("stem", "pool1_pool"), (_UNIT, "conv{s+1}_block{u}_out"), ("pooled", "avg_pool"),
                           ("logits", "predictions")),
}

def tree_candidates(stem, classes, kernels):
    """Every Inception10 whose tensors a TF-format checkpoint's object tree could hold (see resnet.tree_candidates):
    the stem's width, the classes and whether the convs have biases; the tree's shapes then decide."""
    for blocks, per in itertools.product(range(1, 5), range(1, 4)):
        try:
            yield Inception10(num_blocks=blocks, init_ch=stem[3], units_per_block=per, conv_bias=kernels[0][1],
                              num_classes=classes)
        except SlimcompatError:
            continue


FAMILY = Family(
    name="inception10", description=Inception10, parse=lambda text: ({}, "slim") if text == "inception10" else None,
    names=("inception10",), layers=LAYERS, endpoints=ENDPOINTS,
    sources={"slim": {"inception10": ({}, "unit")}, "keras": {"inception10": ({}, "unit")}},
    detect=("inception10",), object_tree=tree_candidates,
)
