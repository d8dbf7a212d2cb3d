"""Inception v4 as data: research/slim's `inception_v4` (Szegedy et al. 2016, arXiv:1602.07261).

research/slim builds it with `inception_arg_scope`: every conv is conv ->
BatchNorm without gamma (slim's default `scale=False`; epsilon 0.001) ->
ReLU, with no conv bias; convs and pools default to stride 1, SAME. The stem
(Conv2d_1a..2b, Mixed_3a/4a/5a) narrows 299 px to 35 x 35 x 384 through
VALID convs and pools; then 4 Inception-A units (Mixed_5b..e), Reduction-A
(Mixed_6a), 7 Inception-B (Mixed_6b..h), Reduction-B (Mixed_7a) and 3
Inception-C (Mixed_7b..d), 8 x 8 x 1536; global average pooling, dropout
(keep 0.8) and the 1001-class logits. The auxiliary head hangs off Mixed_6h:
5x5/3 average pool (VALID), a 1x1 conv of 128, a conv of 768 whose kernel is
the pooled map's size (5 x 5 at slim's 299 px: the kernel every published
checkpoint holds, so it is fixed here), and its own logits.

The blocks are tables (`C` convs, `P` pools, a tuple of convs = parallel
convs whose outputs concatenate, Inception-C's 1x3/3x1 pairs); the plan and
every naming scheme are read from the same tables, so a block is written
once. Inception-ResNet-v2 (inception_resnet_v2.py) reads its blocks the same way.

Canonical layers: `conv2d_1a`, `conv2d_2a`, `conv2d_2b` (the stem convs),
`mixed_{3..7}{a..h}/branch{k}/conv{j}` (k as slim's Branch_k, from 0; j the
k-th branch's j-th conv from 1, parallel pairs included), each conv's
`/bn`, `aux/conv{1,2}[/bn]`, `aux/logits`, `logits`. Endpoints are slim's
end_points, lowercase: `conv2d_1a` ... `mixed_7d`, `aux_logits`, `pooled`
(global_pool), `logits`.
"""

import dataclasses
from typing import NamedTuple, Optional

from slimcompat.arch import ops
from slimcompat.arch.description import Description, check_knobs, check_size, common, knob
from slimcompat.arch.family import Family

__all__ = ["InceptionV4", "C", "P", "block_ops", "block_convs", "timm_paths", "conv_rules", "FAMILY"]


class C(NamedTuple):
    """A conv -> BatchNorm -> activation of a table: slim's scope, filters, kernel (k or (h, w)), stride, padding."""

    scope: str
    filters: int
    kernel: object = 1
    stride: int = 1
    padding: str = "same"


class P(NamedTuple):
    """A pool of a table: "max" or "avg" (TensorFlow's: SAME padding leaves the pad out of the divisor)."""

    kind: str
    size: int = 3
    stride: int = 1
    padding: str = "same"


def block_convs(branches):
    """[(k, j, C)] of a block table in forward order: branch k from 0, conv j within it from 1."""
    out = []
    for k, branch in enumerate(branches):
        convs = [c for item in branch if not isinstance(item, P)
                 for c in ((item,) if isinstance(item, C) else item)]
        out += [(k, j, conv) for j, conv in enumerate(convs, start=1)]
    return out


def block_ops(unit, branches, channels, conv):
    """(Concat of the block's branches, its output channels); conv(layer, C, in_channels) gives a conv's ops."""
    out, total = [], 0
    for k, branch in enumerate(branches):
        seq, c, j = [], channels, 0
        for item in branch:
            if isinstance(item, P):
                seq.append((ops.MaxPool if item.kind == "max" else ops.AvgPool)(item.size, item.stride, item.padding))
            elif isinstance(item, C):
                j += 1
                seq += conv(f"{unit}/branch{k}/conv{j}", item, c)
                c = item.filters
            else:
                parts = []
                for spec in item:
                    j += 1
                    parts.append(tuple(conv(f"{unit}/branch{k}/conv{j}", spec, c)))
                seq.append(ops.Concat(f"{unit}/branch{k}", tuple(parts)))
                c = sum(spec.filters for spec in item)
        out.append(tuple(seq))
        total += c
    return ops.Concat(unit, tuple(out)), total


def conv_ops(layer, spec, channels, *, epsilon, act, bias=False, scale=False):
    """[Conv, BatchNorm (no gamma unless `scale`), act] of one table conv, its padding as the table says."""
    return [ops.Conv(layer, spec.kernel, spec.stride, channels, spec.filters, bias=bias, padding=spec.padding),
            ops.BatchNorm(f"{layer}/bn", spec.filters, epsilon, scale=scale), act]


def timm_paths(branches):
    """[module path] of each conv of a block table in timm's port (block_convs order): a branch that is one
    conv is `branch{k}`, any other an nn.Sequential whose pools count (`branch3.1` follows its pool)."""
    out = []
    for k, branch in enumerate(branches):
        if len(branch) == 1 and isinstance(branch[0], C):
            out.append(f"branch{k}")
        else:
            out += [f"branch{k}.{i}" for i, item in enumerate(branch) if isinstance(item, C)]
    return out


def conv_rules(canonical, theirs, branches, style, paths=None):
    """Layer rules for every conv (and its BatchNorm) of a block table under one unit template.

    style "slim": `{theirs}/Branch_{k}/{scope}[/BatchNorm]`; "keras":
    `{theirs}_branch{k}_conv{j}[_bn]`; "torch": `{theirs}.branch{k}.conv{j}.{conv,bn}`; "timm":
    `{theirs}.{path}.{conv,bn}`, the paths `timm_paths` derives unless given (`paths`, where timm's
    module names its convs otherwise).
    """
    out = []
    paths = paths or (timm_paths(branches) if style == "timm" else None)
    for n, (k, j, spec) in enumerate(block_convs(branches)):
        layer = f"{canonical}/branch{k}/conv{j}"
        if style == "timm":
            conv, bn = f"{theirs}.{paths[n]}.conv", f"{theirs}.{paths[n]}.bn"
        else:
            conv, bn = {"slim": (f"{theirs}/Branch_{k}/{spec.scope}", f"{theirs}/Branch_{k}/{spec.scope}/BatchNorm"),
                        "keras": (f"{theirs}_branch{k}_conv{j}", f"{theirs}_branch{k}_conv{j}_bn"),
                        "torch": (f"{theirs}.branch{k}.conv{j}.conv", f"{theirs}.branch{k}.conv{j}.bn")}[style]
        out += [(layer, conv), (f"{layer}/bn", bn)]
    return tuple(out)


V, S2 = "valid", 2
STEM = (("conv2d_1a", C("Conv2d_1a_3x3", 32, 3, S2, V)), ("conv2d_2a", C("Conv2d_2a_3x3", 32, 3, 1, V)),
        ("conv2d_2b", C("Conv2d_2b_3x3", 64, 3)))
MIXED_3A = ((P("max", 3, S2, V),), (C("Conv2d_0a_3x3", 96, 3, S2, V),))
MIXED_4A = ((C("Conv2d_0a_1x1", 64), C("Conv2d_1a_3x3", 96, 3, 1, V)),
            (C("Conv2d_0a_1x1", 64), C("Conv2d_0b_1x7", 64, (1, 7)), C("Conv2d_0c_7x1", 64, (7, 1)),
             C("Conv2d_1a_3x3", 96, 3, 1, V)))
MIXED_5A = ((C("Conv2d_1a_3x3", 192, 3, S2, V),), (P("max", 3, S2, V),))
INCEPTION_A = ((C("Conv2d_0a_1x1", 96),),
               (C("Conv2d_0a_1x1", 64), C("Conv2d_0b_3x3", 96, 3)),
               (C("Conv2d_0a_1x1", 64), C("Conv2d_0b_3x3", 96, 3), C("Conv2d_0c_3x3", 96, 3)),
               (P("avg"), C("Conv2d_0b_1x1", 96)))
REDUCTION_A = ((C("Conv2d_1a_3x3", 384, 3, S2, V),),
               (C("Conv2d_0a_1x1", 192), C("Conv2d_0b_3x3", 224, 3), C("Conv2d_1a_3x3", 256, 3, S2, V)),
               (P("max", 3, S2, V),))
INCEPTION_B = ((C("Conv2d_0a_1x1", 384),),
               (C("Conv2d_0a_1x1", 192), C("Conv2d_0b_1x7", 224, (1, 7)), C("Conv2d_0c_7x1", 256, (7, 1))),
               (C("Conv2d_0a_1x1", 192), C("Conv2d_0b_7x1", 192, (7, 1)), C("Conv2d_0c_1x7", 224, (1, 7)),
                C("Conv2d_0d_7x1", 224, (7, 1)), C("Conv2d_0e_1x7", 256, (1, 7))),
               (P("avg"), C("Conv2d_0b_1x1", 128)))
REDUCTION_B = ((C("Conv2d_0a_1x1", 192), C("Conv2d_1a_3x3", 192, 3, S2, V)),
               (C("Conv2d_0a_1x1", 256), C("Conv2d_0b_1x7", 256, (1, 7)), C("Conv2d_0c_7x1", 320, (7, 1)),
                C("Conv2d_1a_3x3", 320, 3, S2, V)),
               (P("max", 3, S2, V),))
INCEPTION_C = ((C("Conv2d_0a_1x1", 256),),
               (C("Conv2d_0a_1x1", 384), (C("Conv2d_0b_1x3", 256, (1, 3)), C("Conv2d_0c_3x1", 256, (3, 1)))),
               (C("Conv2d_0a_1x1", 384), C("Conv2d_0b_3x1", 448, (3, 1)), C("Conv2d_0c_1x3", 512, (1, 3)),
                (C("Conv2d_0d_1x3", 256, (1, 3)), C("Conv2d_0e_3x1", 256, (3, 1)))),
               (P("avg"), C("Conv2d_0b_1x1", 256)))
# (canonical unit template, slim scope template, block, units): a lettered unit first, then its repeats.
UNITS = (("mixed_3a", "Mixed_3a", MIXED_3A, 1), ("mixed_4a", "Mixed_4a", MIXED_4A, 1),
         ("mixed_5a", "Mixed_5a", MIXED_5A, 1), ("mixed_5{u@}", "Mixed_5{u@}", INCEPTION_A, 4),
         ("mixed_6a", "Mixed_6a", REDUCTION_A, 1), ("mixed_6{u@}", "Mixed_6{u@}", INCEPTION_B, 7),
         ("mixed_7a", "Mixed_7a", REDUCTION_B, 1), ("mixed_7{u@}", "Mixed_7{u@}", INCEPTION_C, 3))
# The auxiliary head: (canonical, slim scope under AuxLogits, conv); kernel 5: the pooled 17 x 17 map at 299 px.
# timm's port: every unit is `features.{n}` of one nn.Sequential (the stem convs 0..2, then the units in order);
# unit template -> n, `{u}` counting from 2 for a repeated unit. Its Mixed3a/Mixed5a name their one conv `conv`,
# its InceptionC its convs by position in the branch.
TIMM_FEATURES = {"mixed_3a": "3", "mixed_4a": "4", "mixed_5a": "5", "mixed_5{u@}": "{u+4}", "mixed_6a": "10",
                 "mixed_6{u@}": "{u+9}", "mixed_7a": "18", "mixed_7{u@}": "{u+17}"}
TIMM_PATHS = {"mixed_3a": ("conv",), "mixed_5a": ("conv",),
              "mixed_7{u@}": ("branch0", "branch1_0", "branch1_1a", "branch1_1b", "branch2_0", "branch2_1",
                              "branch2_2", "branch2_3a", "branch2_3b", "branch3.1")}
AUX = (("aux/conv1", C("Conv2d_1b_1x1", 128)), ("aux/conv2", C("Conv2d_2a", 768, 5, 1, V)))
AUX_FEATURES = 1024


@dataclasses.dataclass(frozen=True)
class InceptionV4(Description):
    aux_logits: bool = knob(True, "auxiliary logits head", "shape")
    bn_scale: bool = knob(False, "BatchNorm scale (gamma)", "shape")
    conv_bias: bool = common("conv_bias", False)
    activation: str = common("activation", "relu")
    elu_alpha: float = common("elu_alpha", 1.0)
    bn_epsilon: float = common("bn_epsilon", 1e-3)
    l2: float = common("l2", 4e-5)
    num_classes: Optional[int] = common("num_classes", 1001)
    background_class: bool = common("background_class", True)
    dropout: float = common("dropout", 0.2)
    softmax: bool = common("softmax", False)

    family = "inception_v4"

    @property
    def input_size(self):
        return (299, 299)

    @property
    def name(self):
        return "inception_v4"

    def scheme_constants(self):
        return {"scope": "InceptionV4"}

    features = 1536

    def _act(self):
        return ops.Act(self.activation, self.elu_alpha) if self.activation == "elu" else ops.Act(self.activation)

    def _conv(self, layer, spec, channels):
        return conv_ops(layer, spec, channels, epsilon=self.bn_epsilon, act=self._act(), bias=self.conv_bias,
                        scale=self.bn_scale)

    def _plan(self):
        out, channels = [], 3
        for layer, spec in STEM:
            out += self._conv(layer, spec, channels) + [ops.Endpoint(layer)]
            channels = spec.filters
        for canonical, _, block, units in UNITS:
            first = 1 if units == 1 else 2
            for u in range(first, first + units):
                unit = canonical.replace("{u@}", "abcdefgh"[u - 1])
                concat, channels = block_ops(unit, block, channels, self._conv)
                out += [concat, ops.Endpoint(unit)]
                if unit == "mixed_6h" and self.aux_logits and self.num_classes:
                    out.append(self._aux())
        out += [ops.GlobalAvgPool(), ops.Endpoint("pooled")]
        return tuple(out + self._head("logits", self.features, "logits"))

    def _aux(self):
        seq, channels = [ops.AvgPool(5, 3, "valid")], AUX_FEATURES
        for layer, spec in AUX:
            seq += self._conv(layer, spec, channels)
            channels = spec.filters
        return ops.Aux("aux", tuple(seq + [ops.Flatten()] + self._head("aux/logits", channels, "aux_logits")))

    def _head(self, layer, features, endpoint):
        """Dropout (keep 0.8 in slim, before the logits; identity at inference), then the classifier."""
        if self.num_classes is None:
            return []
        out = [ops.Dropout(self.dropout)] if self.dropout and layer == "logits" else []
        out += [ops.Dense(layer, features, self.num_classes), ops.Endpoint(endpoint)]
        return out + ([ops.Softmax()] if self.softmax and layer == "logits" else [])


def _stem_rules(style):
    out = []
    for n, (layer, spec) in enumerate(STEM):
        out += {"slim": [(layer, f"{{scope}}/{spec.scope}"), (f"{layer}/bn", f"{{scope}}/{spec.scope}/BatchNorm")],
                "keras": [(layer, layer), (f"{layer}/bn", f"{layer}_bn")],
                "torch": [(layer, f"{layer}.conv"), (f"{layer}/bn", f"{layer}.bn")],
                "timm": [(layer, f"features.{n}.conv"), (f"{layer}/bn", f"features.{n}.bn")]}[style]
    return tuple(out)


def _aux_rules(style):
    out = []
    for layer, spec in AUX:
        j, scope = layer[-1], f"{{scope}}/AuxLogits/{spec.scope}"
        out += {"slim": [(layer, scope), (f"{layer}/bn", f"{scope}/BatchNorm")],
                "keras": [(layer, f"aux_conv{j}"), (f"{layer}/bn", f"aux_conv{j}_bn")],
                "torch": [(layer, f"aux_logits.conv{j}.conv"), (f"{layer}/bn", f"aux_logits.conv{j}.bn")]}[style]
    return tuple(out)


_MIXED = "mixed_{s}{u@}/branch{k}/conv{j}"
LAYERS = {
    # research/slim: InceptionV4/Mixed_6b/Branch_2/Conv2d_0d_7x1/weights, .../BatchNorm/moving_mean
    "slim": _stem_rules("slim") + tuple(rule for canonical, scope, block, _ in UNITS
                                         for rule in conv_rules(canonical, f"{{scope}}/{scope}", block, "slim"))
            + _aux_rules("slim")
            + (("aux/logits", "{scope}/AuxLogits/Aux_logits"), ("logits", "{scope}/Logits/Logits")),
    # keras.applications has no Inception v4: slimcompat's own Keras names, the canonical path joined by "_"
    "keras": _stem_rules("keras") + ((_MIXED, "mixed_{s}{u@}_branch{k}_conv{j}"),
                                     (f"{_MIXED}/bn", "mixed_{s}{u@}_branch{k}_conv{j}_bn"))
             + _aux_rules("keras") + (("aux/logits", "aux_logits"), ("logits", "predictions")),
    # torchvision has none either: slimcompat's PyTorch module, in torchvision Inception3's style (a conv and
    # its BatchNorm as `.conv`/`.bn` of one module)
    "torchvision": _stem_rules("torch") + ((_MIXED, "mixed_{s}{u@}.branch{k}.conv{j}.conv"),
                                           (f"{_MIXED}/bn", "mixed_{s}{u@}.branch{k}.conv{j}.bn"))
                   + _aux_rules("torch") + (("aux/logits", "aux_logits.fc"), ("logits", "fc")),
    # timm's inception_v4 (Cadene's port of slim's checkpoint): features.{n}..., last_linear. It has no
    # auxiliary head: named as slimcompat's module names it, so every description has timm names (writing for
    # timm refuses one with the head).
    "timm": _stem_rules("timm") + tuple(rule for canonical, _, block, _ in UNITS
                                         for rule in conv_rules(canonical, f"features.{TIMM_FEATURES[canonical]}",
                                                                block, "timm", TIMM_PATHS.get(canonical)))
            + _aux_rules("torch") + (("aux/logits", "aux_logits.fc"), ("logits", "last_linear")),
}
ENDPOINTS = {
    "slim": tuple((layer, spec.scope) for layer, spec in STEM)
            + (("mixed_{s}{u@}", "Mixed_{s}{u@}"), ("aux_logits", "AuxLogits"), ("pooled", "global_pool"),
               ("logits", "Logits")),
}

NAMES = ("inception_v4", "InceptionV4")


def parse(text):
    """inception_v4 (research/slim's nets_factory name, timm's too: `timm:inception_v4`); InceptionV4 (slim's scope)."""
    return ({}, "slim") if text in NAMES else None


def candidates(num_classes=None, input_size=None):
    """What a user's model of this family could be: with or without the auxiliary head."""
    for aux in ((True, False) if num_classes else (False,)):
        yield InceptionV4(aux_logits=aux, num_classes=num_classes, background_class=num_classes == 1001)


SOURCES = {
    "slim": {"inception_v4": (dict(num_classes=1001, background_class=True, aux_logits=True), "inception")},
    # timm's inception_v4 is slim's checkpoint ported: 1000 classes (background row dropped), no aux head,
    # BatchNorms with a gamma (ones where slim has none).
    "timm": {"inception_v4": (dict(num_classes=1000, background_class=False, aux_logits=False, bn_scale=True),
                              "inception")},
}

FAMILY = Family(
    name="inception_v4", description=InceptionV4, parse=parse, names=NAMES, layers=LAYERS, endpoints=ENDPOINTS,
    sources=SOURCES, detect=("inception_v4",), recognize=candidates, timm=("inception_v4",),
)
