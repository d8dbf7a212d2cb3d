"""Inception-ResNet-v2 as data: research/slim's `inception_resnet_v2` and keras.applications' InceptionResNetV2.

research/slim (arg scope `inception_resnet_v2_arg_scope`): every conv is
conv -> BatchNorm without gamma (epsilon 0.001) -> ReLU, no conv bias. Stem
Conv2d_1a..4a with VALID convs and max pools (35 x 35 x 192 at 299 px),
Mixed_5b (320), 10 block35 units (`Repeat/block35_{1..10}`, scale 0.17),
Mixed_6a (1088), 20 block17 (`Repeat_1`, scale 0.10; their output is the
endpoint PreAuxLogits, where the auxiliary head starts), Mixed_7a (2080), 9
block8 (`Repeat_2`, scale 0.20) and a last block8 (`Block8`, scale 1.0 and
no activation), Conv2d_7b_1x1 (1536), global average pool, dropout (keep
0.8), logits. A residual unit is out = act(x + scale * up(concat(branches))),
`up` a 1x1 conv back to x's width with biases and no BatchNorm. The
auxiliary head: 5x5/3 average pool (VALID), 1x1 conv of 128, 5x5 conv of 768
(VALID; the pooled map's size at 299 px), logits.

keras.applications computes the same net (it was ported from slim's
checkpoint) with 1000 classes, a softmax and no auxiliary head, and names
most layers automatically: see `keras_numbering`.

Canonical layers: `conv2d_{1a,2a,2b,3b,4a,7b}`, `mixed_{5b,6a,7a}/branch{k}/conv{j}`,
`block35_{u}`, `block17_{u}`, `block8_{u}` (u from 1; block8_10 is slim's
Block8) with `/branch{k}/conv{j}` and `/up`, each BatchNorm `/bn`,
`aux/conv{1,2}[/bn]`, `aux/logits`, `logits` (k as slim's Branch_k from 0, j
from 1, as in inception_v4). Endpoints: slim's end_points, lowercase.
"""

import dataclasses
import re
from typing import Optional

from slimcompat.arch import ops
from slimcompat.arch.description import Description, check_knobs, check_size, common, knob
from slimcompat.arch.families.inception_v4 import C, P, block_ops, conv_ops, conv_rules
from slimcompat.arch.family import Family

__all__ = ["InceptionResNetV2", "keras_numbering", "FAMILY"]

V, S2 = "valid", 2
STEM = (("conv2d_1a", C("Conv2d_1a_3x3", 32, 3, S2, V)), ("conv2d_2a", C("Conv2d_2a_3x3", 32, 3, 1, V)),
        ("conv2d_2b", C("Conv2d_2b_3x3", 64, 3)), ("maxpool_3a", P("max", 3, S2, V)),
        ("conv2d_3b", C("Conv2d_3b_1x1", 80, 1, 1, V)), ("conv2d_4a", C("Conv2d_4a_3x3", 192, 3, 1, V)),
        ("maxpool_5a", P("max", 3, S2, V)))
MIXED_5B = ((C("Conv2d_1x1", 96),), (C("Conv2d_0a_1x1", 48), C("Conv2d_0b_5x5", 64, 5)),
            (C("Conv2d_0a_1x1", 64), C("Conv2d_0b_3x3", 96, 3), C("Conv2d_0c_3x3", 96, 3)),
            (P("avg"), C("Conv2d_0b_1x1", 64)))
MIXED_6A = ((C("Conv2d_1a_3x3", 384, 3, S2, V),),
            (C("Conv2d_0a_1x1", 256), C("Conv2d_0b_3x3", 256, 3), C("Conv2d_1a_3x3", 384, 3, S2, V)),
            (P("max", 3, S2, V),))
MIXED_7A = ((C("Conv2d_0a_1x1", 256), C("Conv2d_1a_3x3", 384, 3, S2, V)),
            (C("Conv2d_0a_1x1", 256), C("Conv2d_1a_3x3", 288, 3, S2, V)),
            (C("Conv2d_0a_1x1", 256), C("Conv2d_0b_3x3", 288, 3), C("Conv2d_1a_3x3", 320, 3, S2, V)),
            (P("max", 3, S2, V),))
BLOCK35 = ((C("Conv2d_1x1", 32),), (C("Conv2d_0a_1x1", 32), C("Conv2d_0b_3x3", 32, 3)),
           (C("Conv2d_0a_1x1", 32), C("Conv2d_0b_3x3", 48, 3), C("Conv2d_0c_3x3", 64, 3)))
BLOCK17 = ((C("Conv2d_1x1", 192),),
           (C("Conv2d_0a_1x1", 128), C("Conv2d_0b_1x7", 160, (1, 7)), C("Conv2d_0c_7x1", 192, (7, 1))))
BLOCK8 = ((C("Conv2d_1x1", 192),),
          (C("Conv2d_0a_1x1", 192), C("Conv2d_0b_1x3", 224, (1, 3)), C("Conv2d_0c_3x1", 256, (3, 1))))
MIXED = (("mixed_5b", "Mixed_5b", MIXED_5B), ("mixed_6a", "Mixed_6a", MIXED_6A), ("mixed_7a", "Mixed_7a", MIXED_7A))
# (block, units, residual scale, slim's slim.repeat scope); the last block8 is slim's `Block8`.
REPEATS = (("block35", BLOCK35, 10, 0.17, "Repeat"), ("block17", BLOCK17, 20, 0.10, "Repeat_1"),
           ("block8", BLOCK8, 10, 0.20, "Repeat_2"))
AUX = (("aux/conv1", C("Conv2d_1b_1x1", 128)), ("aux/conv2", C("Conv2d_2a_5x5", 768, 5, 1, V)))
AUX_FEATURES = 1088
FEATURES = 1536


@dataclasses.dataclass(frozen=True)
class InceptionResNetV2(Description):
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

    family = "inception_resnet_v2"

    @property
    def input_size(self):
        return (299, 299)

    @property
    def name(self):
        return "inception_resnet_v2"

    def scheme_constants(self):
        return {"scope": "InceptionResnetV2"}

    features = FEATURES

    def _act(self):
        return ops.Act(self.activation, self.elu_alpha) if self.activation == "elu" else ops.Act(self.activation)

    def _conv(self, layer, spec, channels):
        return conv_ops(layer, spec, channels, epsilon=self.bn_epsilon, act=self._act(), bias=self.conv_bias,
                        scale=self.bn_scale)

    def _plan(self):
        out, channels = [], 3
        for layer, spec in STEM:
            if isinstance(spec, P):
                out.append(ops.MaxPool(spec.size, spec.stride, spec.padding))
            else:
                out += self._conv(layer, spec, channels)
                channels = spec.filters
            out.append(ops.Endpoint(layer))
        mixed = iter(MIXED)
        for block, branches, units, scale, _ in REPEATS:
            unit, _, table = next(mixed)
            concat, channels = block_ops(unit, table, channels, self._conv)
            out += [concat, ops.Endpoint(unit)]
            for u in range(1, units + 1):
                last = block == "block8" and u == units
                out.append(self._residual(f"{block}_{u}", branches, channels, 1.0 if last else scale, not last))
            if block == "block17":
                out.append(ops.Endpoint("pre_aux_logits"))
                if self.aux_logits and self.num_classes:
                    out.append(self._aux())
        out += self._conv("conv2d_7b", C("Conv2d_7b_1x1", FEATURES), channels)
        out += [ops.Endpoint("conv2d_7b"), ops.GlobalAvgPool(), ops.Endpoint("pooled")]
        return tuple(out + self._head("logits", FEATURES, "logits"))

    def _residual(self, unit, branches, channels, scale, act):
        concat, width = block_ops(unit, branches, channels, self._conv)
        up = ops.Conv(f"{unit}/up", 1, 1, width, channels, bias=True)
        return ops.Residual(unit, main=(concat, up), post=(self._act(),) if act else (), scale=scale)

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


# ----------------------------------------------------------------- naming schemes
def _slim_rules():
    out = []
    for layer, spec in STEM + (("conv2d_7b", C("Conv2d_7b_1x1", FEATURES)),):
        if isinstance(spec, C):
            out += [(layer, f"{{scope}}/{spec.scope}"), (f"{layer}/bn", f"{{scope}}/{spec.scope}/BatchNorm")]
    for canonical, scope, table in MIXED:
        out += conv_rules(canonical, f"{{scope}}/{scope}", table, "slim")
    out += conv_rules("block8_10", "{scope}/Block8", BLOCK8, "slim") + (("block8_10/up", "{scope}/Block8/Conv2d_1x1"),)
    for block, table, _, _, repeat in REPEATS:
        out += conv_rules(f"{block}_{{u}}", f"{{scope}}/{repeat}/{block}_{{u}}", table, "slim")
        out.append((f"{block}_{{u}}/up", f"{{scope}}/{repeat}/{block}_{{u}}/Conv2d_1x1"))
    for layer, spec in AUX:
        scope = f"{{scope}}/AuxLogits/{spec.scope}"
        out += [(layer, scope), (f"{layer}/bn", f"{scope}/BatchNorm")]
    return tuple(out) + (("aux/logits", "{scope}/AuxLogits/Logits"), ("logits", "{scope}/Logits/Logits"))


_KERAS_NAMED = re.compile(r"conv2d_7b\Z|aux/|block\d+_\d+/up\Z")


def keras_numbering():
    """[canonical conv] in the order keras.applications creates its unnamed `conv2d_bn` layers.

    keras.applications names only block outputs and `conv_7b`; every other
    conv is `Conv2D` + `BatchNormalization` + `Activation` left to Keras'
    automatic names, numbered per layer class in creation order (`conv2d`,
    `conv2d_1`, ..., `batch_normalization_{n}` alike, in a fresh session).
    Its creation order is slim's forward order, so the n-th unnamed conv of
    the plan is `conv2d_{n}`: a rule computed from the plan, not a list of 200 names.
    """
    plan = InceptionResNetV2(aux_logits=False).plan()
    return [op.layer for op in ops.walk(plan) if isinstance(op, ops.Conv) and not _KERAS_NAMED.match(op.layer)]


def _numbered(prefix, n):
    return prefix if n == 0 else f"{prefix}_{n}"


def _keras_rules():
    out = []
    for n, layer in enumerate(keras_numbering()):
        out += [(layer, _numbered("conv2d", n)), (f"{layer}/bn", _numbered("batch_normalization", n))]
    out += [(f"{block}_{{u}}/up", f"{block}_{{u}}_conv") for block, *_ in REPEATS]
    # keras.applications has no auxiliary head: slimcompat's Keras names for it, in the same style
    out += [("conv2d_7b", "conv_7b"), ("conv2d_7b/bn", "conv_7b_bn"), ("aux/conv{j}", "aux_conv{j}"),
            ("aux/conv{j}/bn", "aux_conv{j}_bn"), ("aux/logits", "aux_logits"), ("logits", "predictions")]
    return tuple(out)


def _module_stem_rules():
    """The stem's convs and conv2d_7b as PyTorch modules name them (slimcompat's and timm's alike): `.conv`/`.bn`."""
    out = []
    for layer, spec in STEM + (("conv2d_7b", None),):
        if not isinstance(spec, P):
            out += [(layer, f"{layer}.conv"), (f"{layer}/bn", f"{layer}.bn")]
    return out


def _module_rules(style, unit, up, logits, first=()):
    """A PyTorch module's rules: the stem and the mixed blocks by their canonical path, then `first`, then each
    repeated block's unit `unit(block)` with its up-projection `.{up}`, the aux head and the classifier `logits`."""
    out = _module_stem_rules()
    for canonical, _, table in MIXED:
        out += conv_rules(canonical, canonical, table, style)
    out += first
    for block, table, *_ in REPEATS:
        out += conv_rules(f"{block}_{{u}}", unit(block), table, style)
        out.append((f"{block}_{{u}}/up", f"{unit(block)}.{up}"))
    out += [("aux/conv{j}", "aux_logits.conv{j}.conv"), ("aux/conv{j}/bn", "aux_logits.conv{j}.bn"),
            ("aux/logits", "aux_logits.fc"), ("logits", logits)]
    return tuple(out)


def _torch_rules():
    """slimcompat's PyTorch module (torchvision has no Inception-ResNet): the canonical path, `.conv`/`.bn`."""
    return _module_rules("torch", lambda block: f"{block}_{{u}}", "up", "fc")


# timm's port: each block's units in an nn.Sequential (`repeat`, `repeat_1`, `repeat_2`, from 0), the last block8
# on its own (`block8`); a residual unit's up-projection is `conv2d`.
TIMM_REPEATS = {"block35": "repeat", "block17": "repeat_1", "block8": "repeat_2"}


def _timm_rules():
    """timm's inception_resnet_v2 (Cadene's port of slim's checkpoint); the stem as slimcompat's module names it.
    It has no auxiliary head: named as slimcompat's module names it (writing for timm refuses one with it)."""
    last = conv_rules("block8_10", "block8", BLOCK8, "timm") + (("block8_10/up", "block8.conv2d"),)
    return _module_rules("timm", lambda block: f"{TIMM_REPEATS[block]}.{{u-1}}", "conv2d", "classif", last)


def _keras_endpoints():
    """keras.applications' layers at slim's endpoints: unnamed Activations and MaxPooling2Ds numbered as above."""
    numbering = keras_numbering()
    out, pools = [], 0
    for layer, spec in STEM:
        if isinstance(spec, P):
            out.append((layer, _numbered("max_pooling2d", pools)))
            pools += 1
        else:
            out.append((layer, _numbered("activation", numbering.index(layer))))
    return tuple(out) + (("mixed_5b", "mixed_5b"), ("mixed_6a", "mixed_6a"), ("pre_aux_logits", "block17_20_ac"),
                         ("mixed_7a", "mixed_7a"), ("conv2d_7b", "conv_7b_ac"), ("pooled", "avg_pool"),
                         ("logits", "predictions"))


LAYERS = {"slim": _slim_rules(), "keras": _keras_rules(), "torchvision": _torch_rules(), "timm": _timm_rules()}
_SLIM_ENDPOINTS = {"maxpool_3a": "MaxPool_3a_3x3", "maxpool_5a": "MaxPool_5a_3x3"}
ENDPOINTS = {
    "slim": tuple((layer, _SLIM_ENDPOINTS.get(layer) or spec.scope) for layer, spec in STEM)
            + (("mixed_5b", "Mixed_5b"), ("mixed_6a", "Mixed_6a"), ("pre_aux_logits", "PreAuxLogits"),
               ("mixed_7a", "Mixed_7a"), ("conv2d_7b", "Conv2d_7b_1x1"), ("aux_logits", "AuxLogits"),
               ("pooled", "global_pool"), ("logits", "Logits")),
    "keras.applications": _keras_endpoints(),
}

# ----------------------------------------------------------------- names people type
_NAMES = {"inception_resnet_v2": "slim", "InceptionResnetV2": "slim", "InceptionResNetV2": "keras"}
NAMES = tuple(_NAMES)


def parse(text):
    """research/slim's (and timm's) inception_resnet_v2, slim's scope InceptionResnetV2, Keras' InceptionResNetV2."""
    return ({}, _NAMES[text]) if text in _NAMES else None


def candidates(num_classes=None, input_size=None):
    """What a user's model of this family could be: with or without the auxiliary head."""
    for aux in ((True, False) if num_classes else (False,)):
        yield InceptionResNetV2(aux_logits=aux, num_classes=num_classes, background_class=num_classes == 1001)


SOURCES = {
    "slim": {"inception_resnet_v2": (dict(num_classes=1001, background_class=True, aux_logits=True), "inception")},
    "keras": {"inception_resnet_v2": (dict(num_classes=1000, background_class=False, aux_logits=False, softmax=True),
                                      "inception")},
    # timm's inception_resnet_v2 is slim's checkpoint ported: 1000 classes, no aux head, BatchNorms with a gamma.
    "timm": {"inception_resnet_v2": (dict(num_classes=1000, background_class=False, aux_logits=False,
                                          bn_scale=True), "inception")},
}

FAMILY = Family(
    name="inception_resnet_v2", description=InceptionResNetV2, parse=parse, names=NAMES, layers=LAYERS,
    endpoints=ENDPOINTS, sources=SOURCES, detect=("inception_resnet_v2",), recognize=candidates,
    keras_applications={"InceptionResNetV2": {}}, timm=("inception_resnet_v2",),
)
