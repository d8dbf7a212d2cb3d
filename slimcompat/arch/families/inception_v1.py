"""Inception v1 (GoogLeNet with BatchNorm) as data: tf_slim.nets.inception_v1, scope InceptionV1.

The stem (7x7/2 conv, 3x3/2 max pool, 1x1 and 3x3 convs, 3x3/2 max pool,
all SAME), nine Mixed blocks of four branches (1x1; 1x1 then 3x3; 1x1 then
3x3 (slim's, as torchvision's, where the paper has 5x5); 3x3/1 max pool then
1x1) with 3x3/2 and 2x2/2 max pools between, then the average over the map,
dropout and the logits (slim's `Logits/Conv2d_0c_1x1`, a 1x1 conv with
biases; canonical `logits` is that conv as a dense kernel). Convs have no
bias, BatchNorm without gamma (epsilon 0.001), ReLU.

tf_slim pools a fixed 7x7 VALID window: the whole map at its 224-pixel input
(the only size its squeeze accepts), so the plan says the average over the
map. keras.applications has no Inception v1: the Keras names are
slimcompat's own; torchvision's GoogLeNet pads and pools otherwise and is not
claimed as this net (its names here are slimcompat's PyTorch module's).
"""

import dataclasses
from typing import Optional

from slimcompat.arch.description import Description, check_knobs, check_size, common
from slimcompat.arch.families import _inception_blocks as blocks
from slimcompat.arch.families._inception_blocks import C, Mixed, Pool
from slimcompat.arch.family import Family

__all__ = ["InceptionV1", "FAMILY", "TABLE"]


def _mixed(scope, b0, b1, b2, b3, b2_last="Conv2d_0b_3x3"):
    return Mixed(scope, (
        (C("Conv2d_0a_1x1", b0),),
        (C("Conv2d_0a_1x1", b1[0]), C("Conv2d_0b_3x3", b1[1], 3)),
        (C("Conv2d_0a_1x1", b2[0]), C(b2_last, b2[1], 3)),
        (Pool("max", 3, 1, "same"), C("Conv2d_0b_1x1", b3))))


TABLE = (
    C("Conv2d_1a_7x7", 64, 7, 2), Pool("max", 3, 2, "same", "MaxPool_2a_3x3"), C("Conv2d_2b_1x1", 64),
    C("Conv2d_2c_3x3", 192, 3), Pool("max", 3, 2, "same", "MaxPool_3a_3x3"),
    _mixed("Mixed_3b", 64, (96, 128), (16, 32), 32), _mixed("Mixed_3c", 128, (128, 192), (32, 96), 64),
    Pool("max", 3, 2, "same", "MaxPool_4a_3x3"),
    _mixed("Mixed_4b", 192, (96, 208), (16, 48), 64), _mixed("Mixed_4c", 160, (112, 224), (24, 64), 64),
    _mixed("Mixed_4d", 128, (128, 256), (24, 64), 64), _mixed("Mixed_4e", 112, (144, 288), (32, 64), 64),
    _mixed("Mixed_4f", 256, (160, 320), (32, 128), 128),
    Pool("max", 2, 2, "same", "MaxPool_5a_2x2"),
    _mixed("Mixed_5b", 256, (160, 320), (32, 128), 128, b2_last="Conv2d_0a_3x3"),   # tf_slim's scope, as written
    _mixed("Mixed_5c", 384, (192, 384), (48, 128), 128),
)


@dataclasses.dataclass(frozen=True)
class InceptionV1(Description):
    padding: str = common("padding", "same")
    bn_epsilon: float = common("bn_epsilon", 1e-3)
    l2: float = common("l2", 4e-5)
    num_classes: Optional[int] = common("num_classes", 1001)
    background_class: bool = common("background_class", True)
    dropout: float = common("dropout", 0.2)
    softmax: bool = common("softmax", False)

    family = "inception_v1"

    @property
    def name(self):
        return "inception_v1"

    def scheme_constants(self):
        return {"scope": "InceptionV1"}

    def _plan(self):
        return tuple(_read(self)[0])


def _read(d):
    names = blocks.Names()
    out, channels = blocks.build(TABLE, blocks.Context(d.bn_epsilon, padding=d.padding), names)
    out += blocks.head(channels, d.num_classes, d.dropout, d.softmax, names, "Conv2d_0c_1x1")
    return out, names


_NAMES = {"inception_v1": "slim", "InceptionV1": "slim"}


def parse(text):
    source = _NAMES.get(text)
    return None if source is None else ({}, source)


LAYERS, ENDPOINTS = blocks.name_rules(_read(InceptionV1())[1])
SOURCES = {"slim": {"inception_v1": (dict(num_classes=1001, background_class=True), "inception")}}


def candidates(num_classes, input_size=None):
    yield InceptionV1(num_classes=num_classes, background_class=num_classes is not None)


FAMILY = Family(
    name="inception_v1", description=InceptionV1, parse=parse, names=tuple(_NAMES), layers=LAYERS,
    endpoints=ENDPOINTS, sources=SOURCES, detect=("inception_v1",), recognize=candidates,
)
