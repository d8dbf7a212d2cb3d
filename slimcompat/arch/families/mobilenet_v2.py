"""MobileNet v2 as data: research/slim's `mobilenet_v2`, keras.applications' `MobileNetV2`, torchvision's.

A 3x3/2 conv, 17 inverted-residual blocks, a 1x1 conv to 1280 channels, a
global average pool, dropout and the classifier. A block expands its input
6x with a 1x1 conv (BatchNorm, relu6; the first block, of expansion 1, has
none), filters it with a 3x3 depthwise conv (BatchNorm, relu6) and projects it
with a 1x1 conv and BatchNorm, linear; its input is added back when its stride
is 1 and its channels do not change. Widths scale every channel count to a
multiple of 8 (`make_divisible`: the nearest, at least 8, never more than 10%
below); the last conv stays 1280 wide unless the width exceeds 1 (slim's zoo
checkpoints below width 1 use its `finegrain_classification_mode`, as Keras and
torchvision do).

The three sources differ in what they compute: slim and Keras pad strided
convs as TensorFlow's SAME (Keras by `correct_pad`, the same thing at every
size), torchvision symmetrically (padding=1) and with BatchNorm epsilon 1e-5;
both are knobs of effect "output", so converting across them says so.

Canonical layers: `stem/conv[/bn]`, `block{u}/expand[/bn]` (u 2..17),
`block{u}/depthwise[/bn]`, `block{u}/project[/bn]` (u 1..17),
`final/conv[/bn]`, `logits`. Endpoints: `stem`, `block{u}`, `final`,
`pooled`, `logits`.
"""

import dataclasses
import re
from typing import Optional

from slimcompat.arch import ops
from slimcompat.arch.description import Description, check_knobs, check_size, common, conv_bn_act, knob, shown
from slimcompat.arch.family import Family, match_name

__all__ = ["MobileNetV2", "BLOCKS", "WIDTHS", "make_divisible", "FAMILY"]

# (expansion, channels at width 1, repeats, stride of the first repeat), as the paper's table 2
GROUPS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
BLOCKS = tuple((t, c, s if i == 0 else 1) for t, c, n, s in GROUPS for i in range(n))   # (expansion, channels, stride)
STEM, LAST = 32, 1280
WIDTHS = (1.0, 1.4, 0.35, 0.5, 0.75, 1.3)       # keras.applications' alphas; the zoo's widths
RESOLUTIONS = (224, 192, 160, 128, 96)
DIVISOR = 8


def make_divisible(value, divisor=DIVISOR):
    """The multiple of `divisor` nearest `value`, at least `divisor`, and not more than 10% below it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def width_text(width):
    return repr(float(width))


@dataclasses.dataclass(frozen=True)
class MobileNetV2(Description):
    width: float = knob(1.0, "width multiplier (alpha)", "shape", bounds=(0.01, 4.0))
    resolution: int = knob(224, "input size the weights were trained at", "training", bounds=(32, 2048))
    padding: str = common("padding", "same")
    activation: str = common("activation", "relu6")
    bn_epsilon: float = common("bn_epsilon", 1e-3)
    l2: float = common("l2", 0.0)
    num_classes: Optional[int] = common("num_classes", 1001)
    background_class: bool = common("background_class", True)
    dropout: float = common("dropout", 0.2)
    softmax: bool = common("softmax", False)

    family = "mobilenet_v2"

    @property
    def input_size(self):
        return (self.resolution, self.resolution)

    def __post_init__(self):
        check_knobs(f"mobilenet_v2 width {shown(self.width)}", self)
        object.__setattr__(self, "width", float(self.width))
        check_size(self.name, self)

    @property
    def name(self):
        return f"mobilenet_v2_{width_text(self.width)}_{self.resolution}"

    def scheme_constants(self):
        return {"scope": "MobilenetV2"}

    @property
    def features(self):
        return make_divisible(LAST * max(1.0, self.width))

    def _plan(self):
        act = ops.Act(self.activation)
        eps, pad = self.bn_epsilon, self.padding
        channels = make_divisible(STEM * self.width)
        out = conv_bn_act("stem/conv", 3, 2, 3, channels, epsilon=eps, act=act, padding=pad)
        out.append(ops.Endpoint("stem"))
        for u, (expansion, width_1, stride) in enumerate(BLOCKS, start=1):
            c_out = make_divisible(width_1 * self.width)
            main, hidden = [], channels
            if expansion != 1:
                hidden = make_divisible(channels * expansion)
                main += conv_bn_act(f"block{u}/expand", 1, 1, channels, hidden, epsilon=eps, act=act)
            main += [ops.DepthwiseConv(f"block{u}/depthwise", 3, stride, hidden, padding=pad if stride > 1 else "same"),
                     ops.BatchNorm(f"block{u}/depthwise/bn", hidden, eps), act]
            main += conv_bn_act(f"block{u}/project", 1, 1, hidden, c_out, epsilon=eps, act=None)
            out += [ops.Residual(f"block{u}", tuple(main))] if stride == 1 and channels == c_out else main
            out.append(ops.Endpoint(f"block{u}"))
            channels = c_out
        out += conv_bn_act("final/conv", 1, 1, channels, self.features, epsilon=eps, act=act)
        out += [ops.Endpoint("final"), ops.GlobalAvgPool(), ops.Endpoint("pooled")]
        if self.num_classes is not None:
            if self.dropout:
                out.append(ops.Dropout(self.dropout))
            out += [ops.Dense("logits", self.features, self.num_classes), ops.Endpoint("logits")]
            if self.softmax:
                out.append(ops.Softmax())
        return tuple(out)


# ----------------------------------------------------------------- names people type
_NAMES = (
    # the zoo's checkpoints: mobilenet_v2_1.4_224, mobilenet_v2_0.35_96
    (re.compile(r"mobilenet_v2_(\d\.\d{1,17})_(\d{2,4})\Z"), "slim",
     lambda m: {"width": float(m[1]), "resolution": int(m[2])}),
    # TF Hub (mobilenet_v2_140_224) and research/slim's nets_factory (mobilenet_v2_140, mobilenet_v2_035)
    (re.compile(r"mobilenet_v2_(\d{3})(?:_(\d{2,4}))?\Z"), "slim",
     lambda m: {"width": int(m[1]) / 100, "resolution": int(m[2] or 224)}),
    (re.compile(r"MobilenetV2\Z"), "slim", lambda m: {}),
    # torchvision.models.mobilenet_v2 (width 1 only)
    (re.compile(r"mobilenet_v2\Z"), "torchvision", lambda m: {}),
    (re.compile(r"MobileNetV2\Z"), "keras", lambda m: {}),
    # timm's mobilenetv2_100, mobilenetv2_140 (width x 100)
    (re.compile(r"mobilenetv2_(\d{3})\Z"), "timm", lambda m: {"width": int(m[1]) / 100}),
    # keras.applications' model names: mobilenetv2_1.40_224
    (re.compile(r"mobilenetv2_(\d\.\d\d)_(\d{2,4})\Z"), "keras",
     lambda m: {"width": float(m[1]), "resolution": int(m[2])}),
)


def parse(text):
    """(knobs, the source a spelling implies) of a MobileNet v2 name, None when it is not one."""
    return match_name(_NAMES, text)


def _zoo():
    """(width, resolution) of research/slim's published checkpoints: 1.4 and 1.3 at 224, the rest at every size."""
    return [(w, r) for w in WIDTHS for r in RESOLUTIONS if w <= 1.0 or r == 224]


NAMES = ("mobilenet_v2", "MobileNetV2", "MobilenetV2", "mobilenet_v2_140", "mobilenet_v2_035") \
    + tuple(f"mobilenet_v2_{width_text(w)}_{r}" for w, r in _zoo()) \
    + tuple(f"mobilenet_v2_{round(w * 100):03d}_{r}" for w, r in _zoo()) \
    + tuple(f"mobilenetv2_{w:0.2f}_{r}" for w, r in _zoo())
TIMM = ("mobilenetv2_035", "mobilenetv2_050", "mobilenetv2_075", "mobilenetv2_100", "mobilenetv2_140")
NAMES += TIMM

# ----------------------------------------------------------------- naming schemes
_PARTS = ("expand", "depthwise", "project")


def _each_part(*rules):
    """`rules` written once for the three convs of a block ({part}: the templates' fields are integers)."""
    return tuple((c.replace("{part}", part), s.replace("{part}", part)) for part in _PARTS for c, s in rules)


# The first block has no expansion and its own names in slim (expanded_conv) and Keras; its rules come first.
LAYERS = {
    # research/slim: MobilenetV2/expanded_conv_3/expand/weights, .../depthwise/depthwise_weights
    "slim": (
        ("stem/conv", "{scope}/Conv"),
        ("stem/conv/bn", "{scope}/Conv/BatchNorm"),
        ("block1/depthwise", "{scope}/expanded_conv/depthwise"),
        ("block1/depthwise/bn", "{scope}/expanded_conv/depthwise/BatchNorm"),
        ("block1/project", "{scope}/expanded_conv/project"),
        ("block1/project/bn", "{scope}/expanded_conv/project/BatchNorm"),
        *_each_part(("block{u}/{part}", "{scope}/expanded_conv_{u-1}/{part}"),
                    ("block{u}/{part}/bn", "{scope}/expanded_conv_{u-1}/{part}/BatchNorm")),
        ("final/conv", "{scope}/Conv_1"),
        ("final/conv/bn", "{scope}/Conv_1/BatchNorm"),
        ("logits", "{scope}/Logits/Conv2d_1c_1x1"),
    ),
    # keras.applications.MobileNetV2
    "keras": (
        ("stem/conv", "Conv1"),
        ("stem/conv/bn", "bn_Conv1"),
        ("block1/depthwise", "expanded_conv_depthwise"),
        ("block1/depthwise/bn", "expanded_conv_depthwise_BN"),
        ("block1/project", "expanded_conv_project"),
        ("block1/project/bn", "expanded_conv_project_BN"),
        *_each_part(("block{u}/{part}", "block_{u-1}_{part}"), ("block{u}/{part}/bn", "block_{u-1}_{part}_BN")),
        ("final/conv", "Conv_1"),
        ("final/conv/bn", "Conv_1_bn"),
        ("logits", "predictions"),
    ),
    # torchvision.models.mobilenet_v2: features.N is block N; its Sequential numbers the convs
    "torchvision": (
        ("stem/conv", "features.0.0"),
        ("stem/conv/bn", "features.0.1"),
        ("block1/depthwise", "features.1.conv.0.0"),
        ("block1/depthwise/bn", "features.1.conv.0.1"),
        ("block1/project", "features.1.conv.1"),
        ("block1/project/bn", "features.1.conv.2"),
        ("block{u}/expand", "features.{u}.conv.0.0"),
        ("block{u}/expand/bn", "features.{u}.conv.0.1"),
        ("block{u}/depthwise", "features.{u}.conv.1.0"),
        ("block{u}/depthwise/bn", "features.{u}.conv.1.1"),
        ("block{u}/project", "features.{u}.conv.2"),
        ("block{u}/project/bn", "features.{u}.conv.3"),
        ("final/conv", "features.18.0"),
        ("final/conv/bn", "features.18.1"),
        ("logits", "classifier.1"),
    ),
    # timm's efficientnet builder: blocks.{stage}.{unit} per GROUPS row; the first block a DepthwiseSeparable
    "timm": (("stem/conv", "conv_stem"), ("stem/conv/bn", "bn1"),
             ("block1/depthwise", "blocks.0.0.conv_dw"), ("block1/depthwise/bn", "blocks.0.0.bn1"),
             ("block1/project", "blocks.0.0.conv_pw"), ("block1/project/bn", "blocks.0.0.bn2"))
    + tuple(rule for u, (stage, unit) in enumerate(((g, i) for g, (_, _, n, _) in enumerate(GROUPS)
                                                    for i in range(n)), start=1) if u > 1
            for rule in ((f"block{u}/expand", f"blocks.{stage}.{unit}.conv_pw"),
                         (f"block{u}/expand/bn", f"blocks.{stage}.{unit}.bn1"),
                         (f"block{u}/depthwise", f"blocks.{stage}.{unit}.conv_dw"),
                         (f"block{u}/depthwise/bn", f"blocks.{stage}.{unit}.bn2"),
                         (f"block{u}/project", f"blocks.{stage}.{unit}.conv_pwl"),
                         (f"block{u}/project/bn", f"blocks.{stage}.{unit}.bn3")))
    + (("final/conv", "conv_head"), ("final/conv/bn", "bn2"), ("logits", "classifier")),
}

# Where a block's output is: the add of a residual block (Keras names it), else its projection's BatchNorm.
_RESIDUAL = tuple(u for u, (_, _, stride) in enumerate(BLOCKS, start=1) if stride == 1 and u > 1
                  and BLOCKS[u - 2][1] == BLOCKS[u - 1][1])

# slim: mobilenet's end_points keys (layer_N counts the ops of its spec from 1: the stem is layer_1).
# keras.applications: the layers whose outputs they are (its global pool has no name of its own; predictions
# applies the softmax when the model was built with one). Keras' residual blocks end at their add.
ENDPOINTS = {
    "slim": (("stem", "layer_1"), ("final", f"layer_{len(BLOCKS) + 2}"), ("block{u}", "layer_{u+1}"),
             ("pooled", "global_pool"), ("logits", "Logits")),
    "keras.applications": (("stem", "Conv1_relu"), ("block1", "expanded_conv_project_BN"))
    + tuple((f"block{u}", f"block_{u - 1}_add") for u in _RESIDUAL)
    + (("block{u}", "block_{u-1}_project_BN"), ("final", "out_relu"), ("logits", "predictions")),
}

# ----------------------------------------------------------------- what each source does by habit
_TF = dict(padding="same", bn_epsilon=1e-3)
SOURCES = {
    "slim": {"mobilenet_v2": (dict(_TF, num_classes=1001, background_class=True), "inception")},
    "keras": {"mobilenet_v2": (dict(_TF, num_classes=1000, background_class=False), "inception")},
    "torchvision": {"mobilenet_v2": (dict(padding="explicit", bn_epsilon=1e-5, num_classes=1000,
                                          background_class=False, dropout=0.2), "torch")},
    # timm's: PyTorch's symmetric padding and epsilon too (no TF-SAME variant of v2 in timm)
    "timm": {"mobilenet_v2": (dict(padding="explicit", bn_epsilon=1e-5, num_classes=1000,
                                   background_class=False, dropout=0.2), "torch")},
}


def candidates(num_classes, input_size=None):
    """Every MobileNet v2 a user's model could be, with `num_classes` classes (None: no classifier)."""
    square = input_size is not None and input_size[0] == input_size[1] and 32 <= input_size[0] <= 2048
    resolution = dict(resolution=input_size[0]) if square else {}
    for width in WIDTHS:
        yield MobileNetV2(width=width, num_classes=num_classes, background_class=num_classes == 1001, **resolution)


FAMILY = Family(
    name="mobilenet_v2", description=MobileNetV2, parse=parse, names=NAMES, layers=LAYERS, endpoints=ENDPOINTS,
    sources=SOURCES, detect=tuple(f"mobilenet_v2_{width_text(w)}_224" for w in WIDTHS), recognize=candidates,
    keras_applications={"MobileNetV2": {"alpha": "width"}}, torchvision=("mobilenet_v2",), timm=TIMM,
)
