"""The ResNet family as data: basic and bottleneck units, v1 and v2, ResNeXt, and every variant the seeds wrote.

One dataclass describes ResNet-18..200, pre-activation (v2) or not, ResNeXt
(groups and width per group), ImageNet and CIFAR stems, and the habits of
individual implementations (where a stage strides, which units project their
shortcut, ELU instead of ReLU, no activation after the add, biases before
BatchNorm, dropout on the logits). Defaults are tf_slim's conventions, since
the canonical names are slim's; `slimcompat.arch.conventions` holds the
presets of keras.applications, the Keras-1 release and torchvision.

Canonical layers: `stem/conv[/bn]`, `stage{s}/unit{u}/{preact,shortcut,conv1,
conv2,conv3}[/bn]`, `postnorm`, `logits` (s and u count from 1; basic units
have conv1 and conv2). Stage s has planes = base_width * 2**(s-1); a basic
unit outputs `planes` channels, a bottleneck `4 * planes`, through a middle
width of `planes * width_per_group / 64 * groups` (torchvision's rule, so
ResNet and ResNeXt are one family).
"""

import dataclasses
import itertools
import re
from typing import Optional, Tuple

from slimcompat.arch import ops
from slimcompat.arch.description import (Description, check_knobs, check_size, common, conv_bn_act, head_ops, knob,
                                         shown)
from slimcompat.arch.family import Family, match_name
from slimcompat.errors import SlimcompatError

__all__ = ["ResNet", "Unit", "DEPTHS", "STRIDE_PLACEMENTS", "PROJECTIONS", "STEM_POOLS", "BLOCKS", "FAMILY"]

# depth: (unit kind, units per stage)
DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}
BLOCKS = {"basic": 1, "bottleneck": 4}     # kind: expansion
_CONVS = {"basic": ("conv1", "conv2"), "bottleneck": ("conv1", "conv2", "conv3")}

# Where a stage's spatial stride sits. Same tensor shapes either way, so a
# mapping across them loads without error and computes something else.
STRIDE_PLACEMENTS = {
    "last_unit_3x3": "the 3x3 conv of a stage's last unit (slim resnet_v1/v2, Keras ResNetV2)",
    "first_unit_1x1": "the first 1x1 conv and the shortcut of a stage's first unit (Caffe, Keras ResNet50)",
    "first_unit_3x3": "the (first) 3x3 conv and the shortcut of a stage's first unit (torchvision, basic blocks)",
}
PROJECTIONS = {
    "channels": "a 1x1 conv where the channels change; a strided identity is a 1x1 max pool (slim)",
    "shape": "a 1x1 conv where the channels or the resolution change (torchvision)",
    "first": "a 1x1 conv in the first unit of every stage",
    "all": "a 1x1 conv in every unit",
}
STEM_POOLS = {
    "same": "3x3/2 max pool, SAME padding (slim)",
    "pad1": "zero-pad 1 then 3x3/2 max pool, VALID (keras.applications since 2019, torchvision)",
    "valid": "3x3/2 max pool, no padding (the Keras-1 ResNet50 as published)",
    "none": "no pooling after the stem conv (CIFAR)",
}


@dataclasses.dataclass(frozen=True)
class Unit:
    """One residual unit as the builders need it (derived from a ResNet description)."""

    stage: int
    index: int
    kind: str
    in_channels: int
    width: int
    out_channels: int
    stride: int
    stride_conv: Optional[str]    # canonical conv ("conv1", "conv2") holding the stride, None when stride 1
    projection: bool

    @property
    def name(self):
        return f"stage{self.stage}/unit{self.index}"


@dataclasses.dataclass(frozen=True)
class ResNet(Description):
    """A ResNet (see module doc). Fields left None are derived in __post_init__."""

    depth: int = knob(50, "depth", "shape", bounds=(1, 2000))
    preact: bool = knob(False, "pre-activation units (v2)", "shape")
    block: Optional[str] = knob(None, "unit kind", "shape", choices=tuple(BLOCKS))
    units: Optional[Tuple[int, ...]] = knob(None, "units per stage", "shape", bounds=(1, 128), length=(1, 5))
    groups: int = knob(1, "groups of the 3x3 conv (ResNeXt cardinality)", "shape", bounds=(1, 1024))
    width_per_group: int = knob(64, "width per group", "shape", bounds=(1, 1024))
    base_width: int = knob(64, "stage-1 planes", "shape", bounds=(1, 1024))
    stem_width: int = knob(64, "stem width", "shape", bounds=(1, 1024))
    stem_kernel: int = knob(7, "stem kernel", "shape", bounds=(1, 15))
    stem_stride: int = knob(2, "stem stride", "output", bounds=(1, 4))
    stem_pool: str = knob("same", "stem pooling padding", "output", choices=tuple(STEM_POOLS))
    stage_strides: Tuple[int, ...] = knob((2, 2, 2, 1), "stage strides", "output", bounds=(1, 2), length=(1, 5))
    stride_placement: str = knob("last_unit_3x3", "stride placement", "output", choices=tuple(STRIDE_PLACEMENTS))
    padding: str = common("padding", "explicit")
    projection: str = knob("channels", "projection shortcuts", "shape", choices=tuple(PROJECTIONS))
    shortcut_bn: Optional[bool] = knob(None, "BatchNorm on projection shortcuts", "shape")
    shortcut_act: bool = knob(False, "activation on projection shortcuts", "output")
    residual_act: bool = knob(False, "activation at the end of the residual branch", "output")
    add_act: Optional[bool] = knob(None, "activation after the add", "output")
    activation: str = common("activation", "relu")
    elu_alpha: float = common("elu_alpha", 1.0)
    conv_bias: bool = common("conv_bias", False)
    bn_epsilon: float = common("bn_epsilon", 1e-5)
    l2: float = common("l2", 0.0)
    num_classes: Optional[int] = common("num_classes", 1000)
    background_class: bool = common("background_class", False)
    dropout: float = common("dropout", 0.0)
    softmax: bool = common("softmax", False)

    family = "resnet"

    def __post_init__(self):
        where = f"resnet depth {shown(self.depth)}"
        check_knobs(where, self)
        known = DEPTHS.get(self.depth)
        if self.units is None and known is None:
            raise SlimcompatError(f"unknown ResNet depth {self.depth!r}; known: {', '.join(map(str, DEPTHS))} "
                                  f"(or give units per stage)")
        block = self.block or (known[0] if known else None)
        if block is None:
            raise SlimcompatError(f"{where}: give the unit kind (block: {', '.join(BLOCKS)}) with units per stage")
        units = tuple(self.units) if self.units is not None else known[1]
        derived = dict(block=block, units=units, stage_strides=tuple(self.stage_strides))
        for field, value in (("shortcut_bn", not self.preact), ("add_act", not self.preact)):
            if getattr(self, field) is None:
                derived[field] = value
        for field, value in derived.items():
            object.__setattr__(self, field, value)
        self._validate(where)
        check_size(where, self)

    def _validate(self, where):
        """Rules between knobs (each knob's own range is checked by check_knobs)."""
        if len(self.stage_strides) != len(self.units):
            raise SlimcompatError(f"{where}: stage_strides needs one stride (1 or 2) per stage, found "
                                  f"{self.stage_strides!r}")
        expected = 2 * sum(self.units) + 2 if self.block == "basic" else 3 * sum(self.units) + 2
        if expected != self.depth:
            raise SlimcompatError(f"{where}: {self.block} units {self.units} make a ResNet-{expected}, not "
                                  f"{self.depth}")
        if self.block == "basic" and (self.groups != 1 or self.width_per_group != 64):
            raise SlimcompatError(f"{where}: basic units have no groups (ResNeXt needs bottleneck units)")
        if self.block == "basic" and self.stride_placement == "first_unit_1x1":
            raise SlimcompatError(f"{where}: basic units have no 1x1 conv to stride in; use first_unit_3x3")
        if self.width == 0 or self.width % self.groups:
            raise SlimcompatError(f"{where}: width {self.width} does not split into {self.groups} groups")

    # -- names
    @property
    def name(self):
        """slim-style name; every width knob is in it (`wide_resnet_v1_50_2` is not a `resnet_v1_50`)."""
        v = 2 if self.preact else 1
        if self.groups > 1:
            return f"resnext{'_v2' if self.preact else ''}_{self.depth}_{self.groups}x{self.width_per_group}d"
        if self.width_per_group % 64 == 0 and self.width_per_group > 64:
            return f"wide_resnet_v{v}_{self.depth}_{self.width_per_group // 64}"
        if self.width_per_group != 64:
            return f"resnet_v{v}_{self.depth}_w{self.width_per_group}"
        return f"resnet_v{v}_{self.depth}"

    def scheme_constants(self):
        v = 2 if self.preact else 1
        return {"scope": self.name, "v": v, "unit": f"{'basic' if self.block == 'basic' else 'bottleneck'}_v{v}"}

    @property
    def source_key(self):
        return "resnet_v2" if self.preact else "resnet_v1"

    # -- structure
    @property
    def expansion(self):
        return BLOCKS[self.block]

    @property
    def width(self):
        """Middle width of a stage-1 unit (bottleneck) or its planes (basic)."""
        return self._width(self.base_width)

    def _width(self, planes):
        if self.block == "basic":
            return planes
        return int(planes * self.width_per_group / 64) * self.groups

    @property
    def features(self):
        return self.base_width * 2 ** (len(self.units) - 1) * self.expansion

    def unit_list(self):
        """[Unit] in forward order."""
        out, channels = [], self.stem_width
        for s, (n, stage_stride) in enumerate(zip(self.units, self.stage_strides), start=1):
            planes = self.base_width * 2 ** (s - 1)
            width, c_out = self._width(planes), planes * self.expansion
            for u in range(1, n + 1):
                stride, conv = self._stride(stage_stride, u, n)
                c_in = channels if u == 1 else c_out
                out.append(Unit(s, u, self.block, c_in, width, c_out, stride, conv,
                                self._projects(u, c_in, c_out, stride)))
            channels = c_out
        return out

    def _stride(self, stage_stride, u, n):
        at_first = self.stride_placement.startswith("first_unit")
        if stage_stride == 1 or u != (1 if at_first else n):
            return 1, None
        if self.block == "basic" or self.stride_placement == "first_unit_1x1":
            return stage_stride, "conv1"
        return stage_stride, "conv2"

    def _projects(self, u, c_in, c_out, stride):
        rule = self.projection
        if rule == "all" or (rule == "first" and u == 1):
            return True
        return c_in != c_out or (rule == "shape" and stride > 1)

    def summary(self):
        units = "-".join(map(str, self.units))
        bias = "conv biases" if self.conv_bias else "no conv biases"
        return (f"{self.block} units {units}, {self.stem_kernel}x{self.stem_kernel} stem of {self.stem_width}, "
                f"{bias}, projection {self.projection}, {self.num_classes or 'no'} classes")

    def _plan(self):
        act = ops.Act(self.activation, self.elu_alpha) if self.activation == "elu" else ops.Act("relu")
        eps = self.bn_epsilon
        out = conv_bn_act("stem/conv", self.stem_kernel, self.stem_stride, 3, self.stem_width, epsilon=eps,
                          act=None if self.preact else act, bias=self.conv_bias or self.preact,
                          padding=self.padding, bn=not self.preact)
        if self.stem_pool != "none":
            out.append(ops.MaxPool(3, 2, self.stem_pool))
        out.append(ops.Endpoint("stem"))
        for unit in self.unit_list():
            out += [self._unit(unit, act), ops.Endpoint(unit.name)]
        if self.preact:
            out += [ops.BatchNorm("postnorm", self.features, eps), act]
        out += head_ops(self.features, self.num_classes, self.dropout, self.softmax)
        return tuple(out)

    def _unit(self, unit, act):
        eps, name = self.bn_epsilon, unit.name
        convs = _CONVS[unit.kind]
        shapes = {"basic": [(3, unit.in_channels, unit.out_channels), (3, unit.out_channels, unit.out_channels)],
                  "bottleneck": [(1, unit.in_channels, unit.width), (3, unit.width, unit.width),
                                 (1, unit.width, unit.out_channels)]}[unit.kind]
        main = []
        for conv, (k, c_in, c_out) in zip(convs, shapes):
            last = conv == convs[-1]
            stride = unit.stride if conv == unit.stride_conv else 1
            groups = self.groups if (k == 3 and unit.kind == "bottleneck") else 1
            if self.preact and last:
                main += conv_bn_act(f"{name}/{conv}", k, stride, c_in, c_out, epsilon=eps, act=None, bias=True,
                                    groups=groups, padding=self.padding, bn=False)
            else:
                main += conv_bn_act(f"{name}/{conv}", k, stride, c_in, c_out, epsilon=eps,
                                    act=(act if (not last or self.residual_act) else None), bias=self.conv_bias,
                                    groups=groups, padding=self.padding)
        pre = (ops.BatchNorm(f"{name}/preact", unit.in_channels, eps), act) if self.preact else ()
        if unit.projection:
            bn = self.shortcut_bn and not self.preact
            shortcut = conv_bn_act(f"{name}/shortcut", 1, unit.stride, unit.in_channels, unit.out_channels,
                                   epsilon=eps, act=act if self.shortcut_act else None,
                                   bias=self.preact or self.conv_bias or not bn, bn=bn)
            source = "pre" if self.preact else "input"
        else:
            shortcut = [ops.MaxPool(1, unit.stride, "same")] if unit.stride > 1 else []
            source = "input"
        post = (act,) if self.add_act else ()
        return ops.Residual(name, tuple(main), tuple(shortcut), pre, source, post)


# ----------------------------------------------------------------- names people type
# Numbers in names have at most 6 digits (int() of thousands of digits is slow, then refused).
_NAMES = (
    (re.compile(r"resnet_v([12])_(\d{1,6})\Z"), "slim", lambda m: {"depth": int(m[2]), "preact": m[1] == "2"}),
    (re.compile(r"resnext(_v2)?_(\d{1,6})_(\d{1,6})x(\d{1,6})d\Z"), "slim",
     lambda m: {"depth": int(m[2]), "preact": bool(m[1]), "groups": int(m[3]), "width_per_group": int(m[4])}),
    (re.compile(r"wide_resnet_v([12])_(\d{1,6})_(\d{1,2})\Z"), "slim",
     lambda m: {"depth": int(m[2]), "preact": m[1] == "2", "width_per_group": 64 * int(m[3])}),
    (re.compile(r"resnet_v([12])_(\d{1,6})_w(\d{1,4})\Z"), "slim",
     lambda m: {"depth": int(m[2]), "preact": m[1] == "2", "width_per_group": int(m[3])}),
    (re.compile(r"resnet(\d{1,6})\Z"), "torchvision", lambda m: {"depth": int(m[1])}),
    (re.compile(r"resnext(\d{1,6})_(\d{1,6})x(\d{1,6})d\Z"), "torchvision",
     lambda m: {"depth": int(m[1]), "groups": int(m[2]), "width_per_group": int(m[3])}),
    (re.compile(r"wide_resnet(\d{1,6})_(\d{1,2})\Z"), "torchvision",
     lambda m: {"depth": int(m[1]), "width_per_group": 64 * int(m[2])}),
    (re.compile(r"ResNet(\d{1,6})(V2)?\Z"), "keras", lambda m: {"depth": int(m[1]), "preact": bool(m[2])}),
)


def parse(text):
    """(knobs, the source a spelling implies) of a ResNet name, None when it is not one."""
    matched = match_name(_NAMES, text)
    if matched is None:
        return None
    found, source = matched
    if found["depth"] not in DEPTHS:
        raise SlimcompatError(f"unknown ResNet depth {found['depth']} in {text!r}; known: "
                              f"{', '.join(map(str, DEPTHS))}")
    return found, source


NAMES = ("resnext_50_32x4d", "resnext_101_32x8d", "resnext_v2_50_32x4d", "resnext50_32x4d", "resnext101_32x8d",
         "wide_resnet50_2", "wide_resnet101_2", "wide_resnet_v1_50_2", "wide_resnet_v1_101_2") + tuple(
    name for depth in DEPTHS
    for name in (f"resnet_v1_{depth}", f"resnet_v2_{depth}", f"resnet{depth}", f"ResNet{depth}", f"ResNet{depth}V2"))

# ----------------------------------------------------------------- naming schemes
_UNIT = "stage{s}/unit{u}"
LAYERS = {
    # tf_slim: resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights, .../BatchNorm/moving_mean
    "slim": (
        ("stem/conv", "{scope}/conv1"),
        ("stem/conv/bn", "{scope}/conv1/BatchNorm"),
        (f"{_UNIT}/preact", "{scope}/block{s}/unit_{u}/{unit}/preact"),
        (f"{_UNIT}/shortcut", "{scope}/block{s}/unit_{u}/{unit}/shortcut"),
        (f"{_UNIT}/shortcut/bn", "{scope}/block{s}/unit_{u}/{unit}/shortcut/BatchNorm"),
        (f"{_UNIT}/conv{{k}}", "{scope}/block{s}/unit_{u}/{unit}/conv{k}"),
        (f"{_UNIT}/conv{{k}}/bn", "{scope}/block{s}/unit_{u}/{unit}/conv{k}/BatchNorm"),
        ("postnorm", "{scope}/postnorm"),
        ("logits", "{scope}/logits"),
    ),
    # keras.applications (conv2_block1_1_conv), and in its style what it lacks
    "keras": (
        ("stem/conv", "conv1_conv"),
        ("stem/conv/bn", "conv1_bn"),
        (f"{_UNIT}/preact", "conv{s+1}_block{u}_preact_bn"),
        (f"{_UNIT}/shortcut", "conv{s+1}_block{u}_0_conv"),
        (f"{_UNIT}/shortcut/bn", "conv{s+1}_block{u}_0_bn"),
        (f"{_UNIT}/conv{{k}}", "conv{s+1}_block{u}_{k}_conv"),
        (f"{_UNIT}/conv{{k}}/bn", "conv{s+1}_block{u}_{k}_bn"),
        ("postnorm", "post_bn"),
        ("logits", "predictions"),
    ),
    # The Keras-1 ResNet50 of 2016 (Caffe names): res2a_branch2a, bn2a_branch2a
    "keras1": (
        ("stem/conv", "conv1"),
        ("stem/conv/bn", "bn_conv1"),
        (f"{_UNIT}/shortcut", "res{s+1}{u@}_branch1"),
        (f"{_UNIT}/shortcut/bn", "bn{s+1}{u@}_branch1"),
        (f"{_UNIT}/conv{{k}}", "res{s+1}{u@}_branch2{k@}"),
        (f"{_UNIT}/conv{{k}}/bn", "bn{s+1}{u@}_branch2{k@}"),
        ("logits", "fc1000"),
    ),
    # torchvision's ResNet/ResNeXt/Wide ResNet keys; pre-activation BatchNorms and v2's last BatchNorm
    # in the same style (slimcompat's faithful PyTorch module)
    "torchvision": (
        ("stem/conv", "conv1"),
        ("stem/conv/bn", "bn1"),
        (f"{_UNIT}/preact", "layer{s}.{u-1}.preact"),
        (f"{_UNIT}/shortcut", "layer{s}.{u-1}.downsample.0"),
        (f"{_UNIT}/shortcut/bn", "layer{s}.{u-1}.downsample.1"),
        (f"{_UNIT}/conv{{k}}", "layer{s}.{u-1}.conv{k}"),
        (f"{_UNIT}/conv{{k}}/bn", "layer{s}.{u-1}.bn{k}"),
        ("postnorm", "postnorm"),
        ("logits", "fc"),
    ),
}

# slim: end_points keys (tf_slim collects units and logits; slimcompat's slim nets also the stem and the
# pooled features). keras.applications: layer names.
ENDPOINTS = {
    "slim": (("stem", "{scope}/stem"), (_UNIT, "{scope}/block{s}/unit_{u}/{unit}"), ("pooled", "{scope}/pool5"),
             ("logits", "{scope}/logits")),
    "keras.applications": (("stem", "pool1_pool"), (_UNIT, "conv{s+1}_block{u}_out"), ("pooled", "avg_pool"),
                           ("logits", "predictions")),
}

# ----------------------------------------------------------------- what each source does by habit
_SLIM = dict(stem_pool="same", stride_placement="last_unit_3x3", stage_strides=(2, 2, 2, 1), padding="explicit",
             projection="channels", bn_epsilon=1e-5, conv_bias=False)
_TORCHVISION = (dict(stem_pool="pad1", stride_placement="first_unit_3x3", stage_strides=(1, 2, 2, 2),
                     padding="explicit", projection="shape", bn_epsilon=1e-5, conv_bias=False, num_classes=1000,
                     background_class=False), "torch")
SOURCES = {
    "slim": {
        "resnet_v1": (dict(_SLIM, num_classes=1000, background_class=False), "vgg"),
        "resnet_v2": (dict(_SLIM, num_classes=1001, background_class=True), "inception"),
    },
    "keras": {
        "resnet_v1": (dict(stem_pool="pad1", stride_placement="first_unit_1x1", stage_strides=(1, 2, 2, 2),
                           padding="explicit", projection="channels", bn_epsilon=1.001e-5, conv_bias=True,
                           num_classes=1000, background_class=False), "caffe"),
        "resnet_v2": (dict(stem_pool="pad1", stride_placement="last_unit_3x3", stage_strides=(2, 2, 2, 1),
                           padding="explicit", projection="channels", bn_epsilon=1.001e-5, conv_bias=False,
                           num_classes=1000, background_class=False), "inception"),
    },
    "keras1": {
        "resnet_v1": (dict(stem_pool="valid", stride_placement="first_unit_1x1", stage_strides=(1, 2, 2, 2),
                           padding="explicit", projection="channels", bn_epsilon=1e-3, conv_bias=True,
                           num_classes=1000, background_class=False), "caffe"),
    },
    "torchvision": {"resnet_v1": _TORCHVISION},
    # timm's ResNets compute torchvision's (stride on the 3x3, pad-1 stem pool, epsilon 1e-5) under its names
    "timm": {"resnet_v1": _TORCHVISION},
}
# timm's resnet*/resnext*/wide_resnet* name their modules as torchvision's do
LAYERS["timm"] = LAYERS["torchvision"]
_MODELS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
           "wide_resnet50_2", "wide_resnet101_2")


def tree_candidates(stem, classes, kernels):
    """Every ResNet whose tensors a TF-format checkpoint's object tree could hold (slimcompat.weights.object_tree):
    its stem kernel `stem` [k, k, 3, width], `classes` (None: no classifier), its conv kernels' (shape, bias) in
    recorded order (biases and grouped 3x3 convs are read off them); the tree's shapes then decide."""
    grouped = _grouped(kernels)
    groups = {1} | {g for g, _ in grouped}
    bias = kernels[0][1]
    for depth, preact, conv_bias, projection, shortcut_bn, g, strides in itertools.product(
            DEPTHS, (False, True), (bias, not bias), ("channels", "first", "shape", "all"), (True, False),
            sorted(groups), ((2, 2, 2, 1), (1, 2, 2, 2), (2, 2, 2, 2))):
        if DEPTHS[depth][0] == "basic" and g > 1:
            continue
        knobs = dict(depth=depth, preact=preact, conv_bias=conv_bias, projection=projection, shortcut_bn=shortcut_bn,
                     stem_kernel=stem[0], stem_width=stem[3], num_classes=classes, stage_strides=strides)
        if g > 1:
            width = min(w for h, w in grouped if h == g)
            knobs.update(groups=g, width_per_group=width * 64 // (64 * g))
        try:
            yield ResNet(**knobs)
        except SlimcompatError:
            continue


def _grouped(kernels):
    """{(groups, width)} a grouped 3x3 conv of the tree may have: one kernel [3, 3, width / g, width], or a run
    of g equal per-group kernels [3, 3, c, c'] (width g * c')."""
    shapes = [shape for shape, _ in kernels]
    found = set()
    for c in shapes:
        if c[:2] == (3, 3) and c[3] > c[2] and c[3] % c[2] == 0:
            found.add((c[3] // c[2], c[3]))
    run = 1
    for previous, c in zip(shapes, shapes[1:] + [None]):
        if c is not None and c[:2] == (3, 3) and c == previous:
            run += 1
            continue
        if run > 1 and previous[:2] == (3, 3):
            found.add((run, run * previous[3]))
        run = 1
    return found


FAMILY = Family(
    name="resnet", description=ResNet, parse=parse, names=NAMES, layers=LAYERS, endpoints=ENDPOINTS,
    sources=SOURCES,
    detect=tuple(f"resnet_v{v}_{d}" for v in (1, 2) for d in DEPTHS) + ("resnext_50_32x4d", "resnext_101_32x8d"),
    keras_applications={f"ResNet{d}{v}": {} for v in ("", "V2") for d in (50, 101, 152)},
    torchvision=_MODELS, timm=_MODELS, object_tree=tree_candidates,
)
