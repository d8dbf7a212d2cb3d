"""The VGG family as data: VGG-11 (slim's vgg_a), 13, 16 and 19, with or without BatchNorm, with or without the top.

Five blocks of 3x3 convolutions (stride 1, SAME, with biases, ReLU; BatchNorm
between conv and ReLU in torchvision's `_bn` nets), 64, 128, 256, 512, 512
filters, each block closed by a 2x2/2 max pool (VALID). Then the fully
connected layers as slim holds them, convolutions: `fc6` 7x7 VALID 4096 (at
224 px pool5 is 7x7, so it is a dense layer on the flattened pool5), ReLU,
dropout, `fc7` 1x1 4096, ReLU, dropout, `logits` (slim's `fc8`) 1x1 without
activation, then the spatial squeeze. keras.applications and torchvision hold
fc6..fc8 as dense layers of the same sizes (the layout rule reshapes them);
torchvision flattens pool5 channel-first, which that rule accounts for too.

Canonical layers: `block{b}/conv{i}[/bn]`, `fc6`, `fc7`, `logits`;
endpoints `block{b}/conv{i}`, `block{b}/pool`, `fc6`, `fc7`, `logits`, where
slim's end_points has them.

Without classes (`num_classes` None) the net ends at fc7 as research/slim's
`num_classes=0` does; without the top (`fc_layers` False, Keras'
`include_top=False`, torchvision's `.features`) it ends at pool5.
"""

import dataclasses
import re
from typing import Optional

from slimcompat.arch import ops
from slimcompat.arch.description import Description, check_knobs, check_size, common, conv_bn_act, knob, shown
from slimcompat.arch.family import Family, match_name
from slimcompat.errors import SlimcompatError

__all__ = ["VGG", "DEPTHS", "WIDTHS", "FAMILY", "candidates"]

# depth: convolutions per block (configurations A, B, D and E of Simonyan & Zisserman, 2014)
DEPTHS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
WIDTHS = (64, 128, 256, 512, 512)
FC_WIDTH = 4096
FC6_KERNEL = 7            # pool5's size at 224 px, the size every VGG source trains at
# tf_slim's scope per depth: configuration A is `vgg_a`; 13 has no slim net, its scope is in slim's style.
SCOPES = {11: "vgg_a", 13: "vgg_13", 16: "vgg_16", 19: "vgg_19"}
_MOST_CONVS = max(max(c) for c in DEPTHS.values())


@dataclasses.dataclass(frozen=True)
class VGG(Description):
    """A VGG network (see module doc)."""

    depth: int = knob(16, "depth", "shape", bounds=(1, 2000))
    batch_norm: bool = knob(False, "BatchNorm after every conv (torchvision's _bn nets)", "shape")
    fc_layers: bool = knob(True, "fully-connected layers fc6 and fc7 (Keras' include_top)", "shape")
    adaptive_pool: bool = knob(False, "average pool to 7x7 before fc6 (torchvision; identity at 224 px)",
                               "output")
    bn_epsilon: float = common("bn_epsilon", 1e-5)
    l2: float = common("l2", 5e-4)
    num_classes: Optional[int] = common("num_classes", 1000)
    background_class: bool = common("background_class", False)
    dropout: float = common("dropout", 0.5)     # after fc6 and fc7; common: one label per knob in diagnoses
    softmax: bool = common("softmax", False)

    family = "vgg"

    def __post_init__(self):
        where = f"vgg depth {shown(self.depth)}"
        check_knobs(where, self)
        if self.depth not in DEPTHS:
            raise SlimcompatError(f"unknown VGG depth {self.depth!r}; known: {', '.join(map(str, DEPTHS))}")
        if not self.fc_layers and self.num_classes is not None:
            raise SlimcompatError(f"{self.name}: a VGG without fc6 and fc7 has no classifier; found num_classes "
                                  f"{self.num_classes} (give num_classes None, or keep the fully-connected layers)")
        check_size(where, self)

    # -- names
    @property
    def scope(self):
        """tf_slim's variable scope of this depth (`vgg_a`, `vgg_16`): the slim names of every variant."""
        return SCOPES[self.depth]

    @property
    def name(self):
        """slim's scope, then `_bn` and `_notop` where the network has BatchNorm / lacks fc6 and fc7."""
        return f"{self.scope}{'_bn' if self.batch_norm else ''}{'' if self.fc_layers else '_notop'}"

    def scheme_constants(self):
        return {"scope": self.scope, **_torchvision_indices(self)}

    @property
    def convs(self):
        """Convolutions per block."""
        return DEPTHS[self.depth]

    @property
    def features(self):
        return FC_WIDTH if self.fc_layers else WIDTHS[-1]

    def _plan(self):
        relu = ops.Act("relu")
        out, channels = [], 3
        for b, (n, width) in enumerate(zip(self.convs, WIDTHS), start=1):
            for i in range(1, n + 1):
                out += conv_bn_act(f"block{b}/conv{i}", 3, 1, channels, width, epsilon=self.bn_epsilon, act=relu,
                                   bias=True, bn=self.batch_norm)
                out.append(ops.Endpoint(f"block{b}/conv{i}"))
                channels = width
            out += [ops.MaxPool(2, 2, "valid"), ops.Endpoint(f"block{b}/pool")]
        if not self.fc_layers:
            return tuple(out)
        dropout = [ops.Dropout(self.dropout)] if self.dropout else []
        out += [ops.Conv("fc6", FC6_KERNEL, 1, channels, FC_WIDTH, bias=True, padding="valid"), relu,
                ops.Endpoint("fc6"), *dropout,
                ops.Conv("fc7", 1, 1, FC_WIDTH, FC_WIDTH, bias=True), relu, ops.Endpoint("fc7")]
        if self.num_classes is not None:
            out += [*dropout, ops.Conv("logits", 1, 1, FC_WIDTH, self.num_classes, bias=True), ops.Flatten(),
                    ops.Endpoint("logits")]
            if self.softmax:
                out.append(ops.Softmax())
        return tuple(out)


def _torchvision_indices(description):
    """{`tv{b}_{i}`: index of conv i of block b in torchvision's `features` Sequential, `tvbn{b}_{i}`: its BatchNorm's}.

    torchvision numbers the layers of `features` in one run (conv, [BatchNorm,]
    ReLU per conv, one MaxPool per block), which no per-field offset says; so
    the indices are constants of the description. Positions a depth lacks get
    a name no state_dict key has.
    """
    out, index = {}, 0
    step = 3 if description.batch_norm else 2
    for b, n in enumerate(description.convs, start=1):
        for i in range(1, _MOST_CONVS + 1):
            if i <= n:
                out[f"tv{b}_{i}"], out[f"tvbn{b}_{i}"] = str(index), str(index + 1)
                index += step
            else:
                out[f"tv{b}_{i}"] = out[f"tvbn{b}_{i}"] = f"absent_{b}_{i}"
        index += 1
    return out


# ----------------------------------------------------------------- names people type
# Numbers in names have at most 6 digits (int() of thousands of digits is slow, then refused).
_NAMES = (
    # tf_slim / research/slim scopes, and slimcompat's names in their style (vgg_a is configuration A, 11 layers)
    (re.compile(r"vgg_(a|\d{1,6})(_bn)?(_notop)?\Z"), "slim",
     lambda m: {"depth": 11 if m[1] == "a" else int(m[1]), "batch_norm": bool(m[2]), "fc_layers": not m[3]}),
    (re.compile(r"vgg(\d{1,6})(_bn)?\Z"), "torchvision", lambda m: {"depth": int(m[1]), "batch_norm": bool(m[2])}),
    (re.compile(r"VGG(\d{1,6})\Z"), "keras", lambda m: {"depth": int(m[1])}),
)


def parse(text):
    """(knobs, the source a spelling implies) of a VGG name, None when it is not one."""
    matched = match_name(_NAMES, text)
    if matched is None:
        return None
    found, source = matched
    if found["depth"] not in DEPTHS:
        raise SlimcompatError(f"unknown VGG depth {found['depth']} in {text!r}; known: {', '.join(map(str, DEPTHS))}")
    if found.get("fc_layers") is False:
        found["num_classes"] = None
    return found, source


NAMES = ("VGG16", "VGG19") + tuple(dict.fromkeys(
    name for depth, scope in SCOPES.items()
    for name in (scope, f"vgg_{depth}", f"{scope}_bn", f"{scope}_notop", f"{scope}_bn_notop", f"vgg{depth}",
                 f"vgg{depth}_bn")))

# ----------------------------------------------------------------- naming schemes
_CONV = "block{b}/conv{i}"
_POSITIONS = [(b, i) for b in range(1, len(WIDTHS) + 1) for i in range(1, _MOST_CONVS + 1)]
LAYERS = {
    # tf_slim: vgg_16/conv3/conv3_2/weights (slim.repeat names conv{b}_{i}), vgg_16/fc8/biases
    "slim": ((_CONV, "{scope}/conv{b}/conv{b}_{i}"), (f"{_CONV}/bn", "{scope}/conv{b}/conv{b}_{i}/BatchNorm"),
             ("fc6", "{scope}/fc6"), ("fc7", "{scope}/fc7"), ("logits", "{scope}/fc8")),
    # keras.applications VGG16/VGG19 (BatchNorms, which it lacks, in its style)
    "keras": ((_CONV, "block{b}_conv{i}"), (f"{_CONV}/bn", "block{b}_conv{i}_bn"),
              ("fc6", "fc1"), ("fc7", "fc2"), ("logits", "predictions")),
    # torchvision: features.{n} (see _torchvision_indices), classifier.0 / .3 / .6
    "torchvision": tuple((f"block{b}/conv{i}", f"features.{{tv{b}_{i}}}") for b, i in _POSITIONS)
    + tuple((f"block{b}/conv{i}/bn", f"features.{{tvbn{b}_{i}}}") for b, i in _POSITIONS)
    + (("fc6", "classifier.0"), ("fc7", "classifier.3"), ("logits", "classifier.6")),
    # timm: torchvision's features, fc6 and fc7 kept as convs (`pre_logits`), the logits a Linear
    "timm": tuple((f"block{b}/conv{i}", f"features.{{tv{b}_{i}}}") for b, i in _POSITIONS)
    + tuple((f"block{b}/conv{i}/bn", f"features.{{tvbn{b}_{i}}}") for b, i in _POSITIONS)
    + (("fc6", "pre_logits.fc1"), ("fc7", "pre_logits.fc2"), ("logits", "head.fc")),
}

# slim: end_points keys (every conv and pool, fc6, fc7, the squeezed fc8); keras.applications: layer names.
ENDPOINTS = {
    "slim": ((_CONV, "{scope}/conv{b}/conv{b}_{i}"), ("block{b}/pool", "{scope}/pool{b}"), ("fc6", "{scope}/fc6"),
             ("fc7", "{scope}/fc7"), ("logits", "{scope}/fc8")),
    "keras.applications": ((_CONV, "block{b}_conv{i}"), ("block{b}/pool", "block{b}_pool"), ("fc6", "fc1"),
                           ("fc7", "fc2"), ("logits", "predictions")),
}

# ----------------------------------------------------------------- what each source does by habit
# Every source's VGG weights have 1000 classes, no background class (the description's default).
SOURCES = {
    "slim": {"vgg": (dict(adaptive_pool=False, dropout=0.5, softmax=False, l2=5e-4, background_class=False),
                     "vgg")},
    "keras": {"vgg": (dict(adaptive_pool=False, dropout=0.0, softmax=True, l2=0.0, background_class=False),
                      "caffe")},
    "torchvision": {"vgg": (dict(adaptive_pool=True, dropout=0.5, softmax=False, l2=0.0, background_class=False),
                            "torch")},
    # timm: fc6 a 7x7 conv on pool5 as slim's (it average-pools up to 7x7 only a smaller pool5, and averages the
    # fc7 map before its Linear logits: both identity at 224 px)
    "timm": {"vgg": (dict(adaptive_pool=False, dropout=0.0, softmax=False, l2=0.0, background_class=False),
                     "torch")},
}


# keras.applications' Dense fc1/fc2/predictions and torchvision's Linear classifier: the fully connected convs.
DENSE = {"keras": ("fc6", "fc7", "logits"), "torchvision": ("fc6", "fc7", "logits"), "timm": ("logits",)}


def candidates(num_classes=None, input_size=None):
    """Every VGG a user's model could be: with `num_classes` classes, or with None none (fc7 or pool5 last)."""
    tops = (True,) if num_classes is not None else (True, False)
    for depth in DEPTHS:
        for batch_norm in (False, True):
            for fc_layers in tops:
                yield VGG(depth=depth, batch_norm=batch_norm, fc_layers=fc_layers, num_classes=num_classes)


FAMILY = Family(
    name="vgg", description=VGG, parse=parse, names=NAMES, layers=LAYERS, endpoints=ENDPOINTS, sources=SOURCES,
    detect=tuple(f"{scope}{bn}{top}" for scope in SCOPES.values() for bn in ("", "_bn") for top in ("", "_notop")),
    recognize=candidates, dense=DENSE,
    keras_applications={"VGG16": {}, "VGG19": {}},
    torchvision=("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"),
    timm=("vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"),
)
