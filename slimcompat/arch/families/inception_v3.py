"""Inception v3 as data: tf_slim.nets.inception_v3 (scope InceptionV3), keras.applications' and torchvision's.

The stem (five convs, VALID but for Conv2d_2b_3x3, two 3x3/2 VALID max
pools), eleven Mixed blocks (5b-5d: 1x1, 5x5, double 3x3 and average-pool
branches; 6a and 7a reduce with stride-2 VALID convs and a max pool; 6b-6e
factorise 7x7 into 1x7 and 7x1; 7b and 7c end two branches in parallel 1x3
and 3x1 convs), an auxiliary head on Mixed_6e (5x5/3 VALID average pool,
1x1 conv, 5x5 VALID conv, a 1x1 conv with biases to the classes), then the
average over the map, dropout and the logits (a 1x1 conv with biases, squeezed:
canonical `logits` is that conv as a dense kernel). Every other conv has
no bias and a BatchNorm without gamma (epsilon 0.001), then ReLU.

keras.applications' InceptionV3 is the same net without the auxiliary head
(1000 classes, softmax), its layers auto-numbered (`conv2d_7`,
`batch_normalization_7`) in the order it makes them. torchvision's
inception_v3 computes the same convolutions with other habits, each a knob:
BatchNorm with a gamma (`bn_scale`), average pools counting the padding
(`count_include_pad`), and `transform_input`, which re-normalises
torch-convention input to the [-1, 1] one its weights expect.
"""

import dataclasses
import re
from typing import Optional

from slimcompat.arch.description import Description, check_knobs, check_size, common, knob
from slimcompat.arch.families import _inception_blocks as blocks
from slimcompat.arch.families._inception_blocks import C, Mixed, Pool, Split
from slimcompat.arch.family import Family

__all__ = ["InceptionV3", "FAMILY", "TABLE"]


def _a(scope, pool_features, b1=("Conv2d_0a_1x1", "Conv2d_0b_5x5")):
    return Mixed(scope, (
        (C("Conv2d_0a_1x1", 64, torch="branch1x1"),),
        (C(b1[0], 48, torch="branch5x5_1"), C(b1[1], 64, 5, torch="branch5x5_2")),
        (C("Conv2d_0a_1x1", 64, torch="branch3x3dbl_1"), C("Conv2d_0b_3x3", 96, 3, torch="branch3x3dbl_2"),
         C("Conv2d_0c_3x3", 96, 3, torch="branch3x3dbl_3")),
        (Pool("avg", 3, 1, "same"), C("Conv2d_0b_1x1", pool_features, torch="branch_pool"))))


def _c(scope, c7):
    return Mixed(scope, (
        (C("Conv2d_0a_1x1", 192, torch="branch1x1"),),
        (C("Conv2d_0a_1x1", c7, torch="branch7x7_1"), C("Conv2d_0b_1x7", c7, (1, 7), torch="branch7x7_2"),
         C("Conv2d_0c_7x1", 192, (7, 1), torch="branch7x7_3")),
        (C("Conv2d_0a_1x1", c7, torch="branch7x7dbl_1"), C("Conv2d_0b_7x1", c7, (7, 1), torch="branch7x7dbl_2"),
         C("Conv2d_0c_1x7", c7, (1, 7), torch="branch7x7dbl_3"), C("Conv2d_0d_7x1", c7, (7, 1), torch="branch7x7dbl_4"),
         C("Conv2d_0e_1x7", 192, (1, 7), torch="branch7x7dbl_5")),
        (Pool("avg", 3, 1, "same"), C("Conv2d_0b_1x1", 192, torch="branch_pool"))))


def _e(scope, b1_3x1):
    return Mixed(scope, (
        (C("Conv2d_0a_1x1", 320, torch="branch1x1"),),
        (C("Conv2d_0a_1x1", 384, torch="branch3x3_1"),
         Split((C("Conv2d_0b_1x3", 384, (1, 3), torch="branch3x3_2a"),
                C(b1_3x1, 384, (3, 1), torch="branch3x3_2b")))),
        (C("Conv2d_0a_1x1", 448, torch="branch3x3dbl_1"), C("Conv2d_0b_3x3", 384, 3, torch="branch3x3dbl_2"),
         Split((C("Conv2d_0c_1x3", 384, (1, 3), torch="branch3x3dbl_3a"),
                C("Conv2d_0d_3x1", 384, (3, 1), torch="branch3x3dbl_3b")))),
        (Pool("avg", 3, 1, "same"), C("Conv2d_0b_1x1", 192, torch="branch_pool"))))


# tf_slim's scopes as written, quirks kept (Mixed_5c's Conv_1_0c_5x5, Mixed_6a's 3x3s called Conv2d_1a_1x1,
# Mixed_7c's Conv2d_0c_3x1): they are the checkpoints' variable names.
TABLE = (
    C("Conv2d_1a_3x3", 32, 3, 2, "valid"), C("Conv2d_2a_3x3", 32, 3, padding="valid"), C("Conv2d_2b_3x3", 64, 3),
    Pool("max", 3, 2, "valid", "MaxPool_3a_3x3"), C("Conv2d_3b_1x1", 80, padding="valid"),
    C("Conv2d_4a_3x3", 192, 3, padding="valid"), Pool("max", 3, 2, "valid", "MaxPool_5a_3x3"),
    _a("Mixed_5b", 32), _a("Mixed_5c", 64, ("Conv2d_0b_1x1", "Conv_1_0c_5x5")), _a("Mixed_5d", 64),
    Mixed("Mixed_6a", (
        (C("Conv2d_1a_1x1", 384, 3, 2, "valid", torch="branch3x3"),),
        (C("Conv2d_0a_1x1", 64, torch="branch3x3dbl_1"), C("Conv2d_0b_3x3", 96, 3, torch="branch3x3dbl_2"),
         C("Conv2d_1a_1x1", 96, 3, 2, "valid", torch="branch3x3dbl_3")),
        (Pool("max", 3, 2, "valid"),))),
    _c("Mixed_6b", 128), _c("Mixed_6c", 160), _c("Mixed_6d", 160), _c("Mixed_6e", 192),
    blocks.Aux(Pool("avg", 5, 3, "valid"), (C("Conv2d_1b_1x1", 128), C("Conv2d_2a_5x5", 768, 5, padding="valid")),
               "Conv2d_2b_1x1", torch=("conv0", "conv1", "fc")),
    Mixed("Mixed_7a", (
        (C("Conv2d_0a_1x1", 192, torch="branch3x3_1"), C("Conv2d_1a_3x3", 320, 3, 2, "valid", torch="branch3x3_2")),
        (C("Conv2d_0a_1x1", 192, torch="branch7x7x3_1"), C("Conv2d_0b_1x7", 192, (1, 7), torch="branch7x7x3_2"),
         C("Conv2d_0c_7x1", 192, (7, 1), torch="branch7x7x3_3"),
         C("Conv2d_1a_3x3", 192, 3, 2, "valid", torch="branch7x7x3_4")),
        (Pool("max", 3, 2, "valid"),))),
    _e("Mixed_7b", "Conv2d_0b_3x1"), _e("Mixed_7c", "Conv2d_0c_3x1"),
)


@dataclasses.dataclass(frozen=True)
class InceptionV3(Description):
    aux_logits: bool = knob(True, "auxiliary logits head", "shape")
    bn_scale: bool = knob(False, "BatchNorm scale (gamma)", "shape")
    count_include_pad: bool = knob(False, "average pools count the padding", "output")
    transform_input: bool = knob(False, "input re-normalised from torch's convention", "output")
    bn_epsilon: float = common("bn_epsilon", 1e-3)
    l2: float = common("l2", 4e-5)
    num_classes: Optional[int] = common("num_classes", 1001)
    background_class: bool = common("background_class", True)
    dropout: float = common("dropout", 0.2)
    softmax: bool = common("softmax", False)

    family = "inception_v3"

    @property
    def input_size(self):
        return (299, 299)

    @property
    def name(self):
        return "inception_v3"

    def scheme_constants(self):
        return {"scope": "InceptionV3"}

    def _plan(self):
        return tuple(_read(self)[0])


def _read(d):
    names = blocks.Names()
    ctx = blocks.Context(d.bn_epsilon, d.bn_scale, "same", d.count_include_pad, d.num_classes, d.aux_logits)
    out, channels = blocks.build(TABLE, ctx, names)
    out += blocks.head(channels, d.num_classes, d.dropout, d.softmax, names, "Conv2d_1c_1x1")
    return out, names


_NAMES = {"inception_v3": "slim", "InceptionV3": "keras", "inception3": "torchvision"}


def parse(text):
    """(knobs, source) of a name for Inception v3; torchvision's `inception_v3` is slim's name too: slim wins."""
    source = _NAMES.get(text)
    return None if source is None else ({}, source)


NAMES = tuple(_NAMES)

_RULES, _ENDPOINTS = blocks.name_rules(_read(InceptionV3())[1])
_KERAS_PLAN = InceptionV3().plan()
LAYERS = dict(_RULES, keras=blocks.keras_ordinal_rules(_KERAS_PLAN))
ENDPOINTS = dict(_ENDPOINTS, **{"keras.applications": blocks.keras_ordinal_endpoints(_KERAS_PLAN)})

_KERAS = dict(aux_logits=False, num_classes=1000, background_class=False, dropout=0.0, softmax=True)
_TORCHVISION = dict(aux_logits=True, bn_scale=True, count_include_pad=True, transform_input=True, num_classes=1000,
                    background_class=False)
# timm's inception_v3 is torchvision's code without transform_input, its aux head off unless asked for; its
# `tf_in1k` weights (slim's checkpoint ported) run in it, average pools counting the padding.
_TIMM = dict(_TORCHVISION, aux_logits=False, transform_input=False)
SOURCES = {
    "slim": {"inception_v3": (dict(aux_logits=True, num_classes=1001, background_class=True), "inception")},
    "keras": {"inception_v3": (_KERAS, "inception")},
    "torchvision": {"inception_v3": (_TORCHVISION, "torch")},
    "timm": {"inception_v3": (_TIMM, "inception")},
}
LAYERS["timm"] = LAYERS["torchvision"]      # timm's module names are torchvision's


def candidates(num_classes, input_size=None):
    """Inception v3 as each source builds it, with `num_classes` (None: the features alone, no aux head)."""
    for knobs, _ in (SOURCES["slim"]["inception_v3"], SOURCES["keras"]["inception_v3"],
                     SOURCES["torchvision"]["inception_v3"]):
        aux = knobs.get("aux_logits", True) and num_classes is not None
        yield InceptionV3(**{**knobs, "num_classes": num_classes, "aux_logits": aux,
                             "background_class": bool(knobs.get("background_class")) and num_classes is not None})


FAMILY = Family(
    name="inception_v3", description=InceptionV3, parse=parse, names=NAMES, layers=LAYERS, endpoints=ENDPOINTS,
    sources=SOURCES, detect=("inception_v3",), recognize=candidates,
    keras_applications={"InceptionV3": {}}, torchvision=("inception_v3",), timm=("inception_v3",),
)
