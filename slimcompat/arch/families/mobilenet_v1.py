"""MobileNet v1 as data: research/slim's `mobilenet_v1` and keras.applications' `MobileNet`, at every width.

A 3x3/2 conv, then 13 depthwise-separable blocks (a 3x3 depthwise conv and a
1x1 pointwise conv, each followed by BatchNorm and relu6), a global average
pool, dropout and a 1x1 conv classifier. The width multiplier scales every
conv's channels to max(int(d * width), 8) (slim's `min_depth`; Keras' int(d *
alpha) is the same at the widths it ships). The resolution the weights were
trained at is part of the zoo's names (`mobilenet_v1_0.5_160`) but computes
nothing: the pool is global at every zoo size (slim pools a 7x7 window, the
whole map up to 224 pixels).

Keras pads its strided depthwise convs (0, 1) then VALID: TensorFlow's SAME at
even sizes, which every zoo size gives at every stride; at an odd size it
computes something else (a smaller map). `padding="same"` describes both.

Canonical layers: `stem/conv[/bn]`, `block{u}/depthwise[/bn]`,
`block{u}/pointwise[/bn]` (u 1..13), `logits` (a Dense; slim and Keras hold it
as a 1x1 conv, [1, 1, features, classes]). Endpoints: `stem`,
`block{u}/depthwise`, `block{u}`, `pooled`, `logits`.
"""

import dataclasses
import re
from typing import Optional

from slimcompat.arch import ops
from slimcompat.arch.description import Description, check_knobs, check_size, common, conv_bn_act, knob, shown
from slimcompat.arch.family import Family, match_name

__all__ = ["MobileNetV1", "BLOCKS", "WIDTHS", "RESOLUTIONS", "FAMILY"]

# (stride, channels at width 1) of the 13 depthwise-separable blocks; the stem is 32 channels, stride 2.
BLOCKS = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512), (1, 512), (1, 512),
          (1, 512), (2, 1024), (1, 1024))
STEM = 32
MIN_DEPTH = 8
WIDTHS = (1.0, 0.75, 0.5, 0.25)          # the zoo's and keras.applications' widths
RESOLUTIONS = (224, 192, 160, 128)


def width_text(width):
    """A width as the zoo writes it in names: 1.0, 0.75, 0.5 (repr, so every float reads back exactly)."""
    return repr(float(width))


@dataclasses.dataclass(frozen=True)
class MobileNetV1(Description):
    width: float = knob(1.0, "width multiplier (alpha)", "shape", bounds=(0.01, 4.0))
    resolution: int = knob(224, "input size the weights were trained at", "training", bounds=(32, 2048))
    padding: str = common("padding", "same")
    activation: str = common("activation", "relu6")
    bn_epsilon: float = common("bn_epsilon", 1e-3)
    l2: float = common("l2", 0.0)
    num_classes: Optional[int] = common("num_classes", 1001)
    background_class: bool = common("background_class", True)
    dropout: float = common("dropout", 0.001)
    softmax: bool = common("softmax", False)

    family = "mobilenet_v1"

    @property
    def input_size(self):
        return (self.resolution, self.resolution)

    def __post_init__(self):
        check_knobs(f"mobilenet_v1 width {shown(self.width)}", self)
        object.__setattr__(self, "width", float(self.width))
        check_size(self.name, self)

    @property
    def name(self):
        return f"mobilenet_v1_{width_text(self.width)}_{self.resolution}"

    def scheme_constants(self):
        return {"scope": "MobilenetV1"}

    def depth(self, channels):
        return max(int(channels * self.width), MIN_DEPTH)

    @property
    def features(self):
        return self.depth(BLOCKS[-1][1])

    def _plan(self):
        act = ops.Act(self.activation)
        eps = self.bn_epsilon
        channels = self.depth(STEM)
        out = conv_bn_act("stem/conv", 3, 2, 3, channels, epsilon=eps, act=act, padding=self.padding)
        out.append(ops.Endpoint("stem"))
        for u, (stride, width_1) in enumerate(BLOCKS, start=1):
            out += [ops.DepthwiseConv(f"block{u}/depthwise", 3, stride, channels,
                                      padding=self.padding if stride > 1 else "same"),
                    ops.BatchNorm(f"block{u}/depthwise/bn", channels, eps), act, ops.Endpoint(f"block{u}/depthwise")]
            out += conv_bn_act(f"block{u}/pointwise", 1, 1, channels, self.depth(width_1), epsilon=eps, act=act)
            out.append(ops.Endpoint(f"block{u}"))
            channels = self.depth(width_1)
        out += [ops.GlobalAvgPool(), ops.Endpoint("pooled")]
        if self.num_classes is not None:
            if self.dropout:
                out.append(ops.Dropout(self.dropout))
            out += [ops.Dense("logits", channels, self.num_classes), ops.Endpoint("logits")]
            if self.softmax:
                out.append(ops.Softmax())
        return tuple(out)


# ----------------------------------------------------------------- names people type
_SLIM = "slim"
_NAMES = (
    # the zoo's checkpoints: mobilenet_v1_0.75_192 (its README: MobileNet_v1_0.50_160)
    (re.compile(r"mobilenet_v1_(\d\.\d{1,17})_(\d{2,4})\Z", re.IGNORECASE), _SLIM,
     lambda m: {"width": float(m[1]), "resolution": int(m[2])}),
    # TF Hub (mobilenet_v1_050_160) and research/slim's nets_factory (mobilenet_v1_050)
    (re.compile(r"mobilenet_v1_(\d{3})(?:_(\d{2,4}))?\Z"), _SLIM,
     lambda m: {"width": int(m[1]) / 100, "resolution": int(m[2] or 224)}),
    (re.compile(r"(?:mobilenet_v1|MobilenetV1)\Z"), _SLIM, lambda m: {}),
    (re.compile(r"MobileNet\Z"), "keras", lambda m: {}),
    # keras.applications' model names: mobilenet_0.50_160
    (re.compile(r"mobilenet_(\d\.\d\d)_(\d{2,4})\Z"), "keras",
     lambda m: {"width": float(m[1]), "resolution": int(m[2])}),
)


def parse(text):
    """(knobs, the source a spelling implies) of a MobileNet v1 name, None when it is not one."""
    return match_name(_NAMES, text)


NAMES = ("mobilenet_v1", "MobilenetV1", "MobileNet", "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025") \
    + tuple(f"mobilenet_v1_{width_text(w)}_{r}" for w in WIDTHS for r in RESOLUTIONS) \
    + tuple(f"mobilenet_v1_{round(w * 100):03d}_{r}" for w in WIDTHS for r in RESOLUTIONS) \
    + tuple(f"mobilenet_{w:0.2f}_{r}" for w in WIDTHS for r in RESOLUTIONS)

# ----------------------------------------------------------------- naming schemes
LAYERS = {
    # research/slim: MobilenetV1/Conv2d_3_depthwise/depthwise_weights, .../Conv2d_3_pointwise/BatchNorm/beta
    "slim": (
        ("stem/conv", "{scope}/Conv2d_0"),
        ("stem/conv/bn", "{scope}/Conv2d_0/BatchNorm"),
        ("block{u}/depthwise", "{scope}/Conv2d_{u}_depthwise"),
        ("block{u}/depthwise/bn", "{scope}/Conv2d_{u}_depthwise/BatchNorm"),
        ("block{u}/pointwise", "{scope}/Conv2d_{u}_pointwise"),
        ("block{u}/pointwise/bn", "{scope}/Conv2d_{u}_pointwise/BatchNorm"),
        ("logits", "{scope}/Logits/Conv2d_1c_1x1"),
    ),
    # keras.applications.MobileNet
    "keras": (
        ("stem/conv", "conv1"),
        ("stem/conv/bn", "conv1_bn"),
        ("block{u}/depthwise", "conv_dw_{u}"),
        ("block{u}/depthwise/bn", "conv_dw_{u}_bn"),
        ("block{u}/pointwise", "conv_pw_{u}"),
        ("block{u}/pointwise/bn", "conv_pw_{u}_bn"),
        ("logits", "conv_preds"),
    ),
    # torchvision has no MobileNet v1: slimcompat's faithful PyTorch module, in torchvision's
    # mobilenet_v2 style (features.N.M, classifier.1 after the dropout)
    "torchvision": (
        ("stem/conv", "features.0.0"),
        ("stem/conv/bn", "features.0.1"),
        ("block{u}/depthwise", "features.{u}.depthwise.0"),
        ("block{u}/depthwise/bn", "features.{u}.depthwise.1"),
        ("block{u}/pointwise", "features.{u}.pointwise.0"),
        ("block{u}/pointwise/bn", "features.{u}.pointwise.1"),
        ("logits", "classifier.1"),
    ),
}

# slim: mobilenet_v1's end_points keys (unscoped). keras.applications: the layers whose outputs they are
# (its global pool has no name of its own; reshape_2 holds the logits before the softmax).
ENDPOINTS = {
    "slim": (("stem", "Conv2d_0"), ("block{u}/depthwise", "Conv2d_{u}_depthwise"), ("block{u}", "Conv2d_{u}_pointwise"),
             ("pooled", "AvgPool_1a"), ("logits", "Logits")),
    "keras.applications": (("stem", "conv1_relu"), ("block{u}/depthwise", "conv_dw_{u}_relu"),
                           ("block{u}", "conv_pw_{u}_relu"), ("logits", "reshape_2")),
}

# ----------------------------------------------------------------- what each source does by habit
SOURCES = {
    "slim": {"mobilenet_v1": (dict(num_classes=1001, background_class=True, padding="same", bn_epsilon=1e-3),
                              "inception")},
    "keras": {"mobilenet_v1": (dict(num_classes=1000, background_class=False, padding="same", bn_epsilon=1e-3),
                               "inception")},
}


def candidates(num_classes, input_size=None):
    """Every MobileNet v1 a user's model could be, with `num_classes` classes (None: no classifier)."""
    square = input_size is not None and input_size[0] == input_size[1] and 32 <= input_size[0] <= 2048
    resolution = dict(resolution=input_size[0]) if square else {}
    for width in WIDTHS:
        yield MobileNetV1(width=width, num_classes=num_classes, background_class=num_classes == 1001, **resolution)


FAMILY = Family(
    name="mobilenet_v1", description=MobileNetV1, parse=parse, names=NAMES, layers=LAYERS, endpoints=ENDPOINTS,
    sources=SOURCES, detect=tuple(f"mobilenet_v1_{width_text(w)}_224" for w in WIDTHS), recognize=candidates,
    keras_applications={"MobileNet": {"alpha": "width"}}, conv={"keras": ("logits",)},
)
