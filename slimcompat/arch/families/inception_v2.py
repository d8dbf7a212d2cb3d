"""Inception v2 (BN-Inception) as data: tf_slim.nets.inception_v2, scope InceptionV2.

The stem starts with a separable 7x7/2 conv (depthwise with multiplier 8,
then a 1x1 pointwise conv to 64 with biases and no BatchNorm: slim's
`Conv2d_1a_7x7/depthwise_weights`, `pointwise_weights`, `biases`), then 3x3/2 max pool, 1x1
and 3x3 convs, 3x3/2 max pool, all SAME. Ten Mixed blocks: four branches
(1x1; 1x1 then 3x3; 1x1 then two 3x3; a 3x3/1 pool, average but in Mixed_5c
max, then 1x1), and at 4a and 5a three (1x1 then 3x3/2; 1x1, 3x3, 3x3/2; a
3x3/2 max pool), strided convs SAME. Then the average over the map (slim's
7x7 VALID pool, cut to the map), dropout and the logits
(`Logits/Conv2d_1c_1x1`, a 1x1 conv with biases: canonical `logits`).
Convs have no bias, BatchNorm without gamma (epsilon 0.001), ReLU.

Neither keras.applications nor torchvision has Inception v2: the Keras and
PyTorch names are slimcompat's own.
"""

import dataclasses
from typing import Optional

from slimcompat.arch.description import Description, check_knobs, check_size, common
from slimcompat.arch.families import _inception_blocks as blocks
from slimcompat.arch.families._inception_blocks import C, Mixed, Pool, Sep
from slimcompat.arch.family import Family

__all__ = ["InceptionV2", "FAMILY", "TABLE"]


def _mixed(scope, b0, b1, b2, b3, pool="avg"):
    return Mixed(scope, (
        (C("Conv2d_0a_1x1", b0),),
        (C("Conv2d_0a_1x1", b1[0]), C("Conv2d_0b_3x3", b1[1], 3)),
        (C("Conv2d_0a_1x1", b2[0]), C("Conv2d_0b_3x3", b2[1], 3), C("Conv2d_0c_3x3", b2[1], 3)),
        (Pool(pool, 3, 1, "same"), C("Conv2d_0b_1x1", b3))))


def _reduction(scope, b0, b1):
    return Mixed(scope, (
        (C("Conv2d_0a_1x1", b0[0]), C("Conv2d_1a_3x3", b0[1], 3, 2)),
        (C("Conv2d_0a_1x1", b1[0]), C("Conv2d_0b_3x3", b1[1], 3), C("Conv2d_1a_3x3", b1[1], 3, 2)),
        (Pool("max", 3, 2, "same"),)))


# depth_multiplier of the first conv: min(int(64 / 3), 8) in tf_slim
TABLE = (
    Sep("Conv2d_1a_7x7", 64, 7, 8, 2), Pool("max", 3, 2, "same", "MaxPool_2a_3x3"), C("Conv2d_2b_1x1", 64),
    C("Conv2d_2c_3x3", 192, 3), Pool("max", 3, 2, "same", "MaxPool_3a_3x3"),
    _mixed("Mixed_3b", 64, (64, 64), (64, 96), 32), _mixed("Mixed_3c", 64, (64, 96), (64, 96), 64),
    _reduction("Mixed_4a", (128, 160), (64, 96)),
    _mixed("Mixed_4b", 224, (64, 96), (96, 128), 128), _mixed("Mixed_4c", 192, (96, 128), (96, 128), 128),
    _mixed("Mixed_4d", 160, (128, 160), (128, 160), 96), _mixed("Mixed_4e", 96, (128, 192), (160, 192), 96),
    _reduction("Mixed_5a", (128, 192), (192, 256)),
    _mixed("Mixed_5b", 352, (192, 320), (160, 224), 128), _mixed("Mixed_5c", 352, (192, 320), (192, 224), 128, "max"),
)


@dataclasses.dataclass(frozen=True)
class InceptionV2(Description):
    padding: str = common("padding", "same")
    bn_epsilon: float = common("bn_epsilon", 1e-3)
    l2: float = common("l2", 4e-5)
    num_classes: Optional[int] = common("num_classes", 1001)
    background_class: bool = common("background_class", True)
    dropout: float = common("dropout", 0.2)
    softmax: bool = common("softmax", False)

    family = "inception_v2"

    @property
    def name(self):
        return "inception_v2"

    def scheme_constants(self):
        return {"scope": "InceptionV2"}

    def _plan(self):
        return tuple(_read(self)[0])


def _read(d):
    names = blocks.Names()
    out, channels = blocks.build(TABLE, blocks.Context(d.bn_epsilon, padding=d.padding), names)
    out += blocks.head(channels, d.num_classes, d.dropout, d.softmax, names, "Conv2d_1c_1x1")
    return out, names


_NAMES = {"inception_v2": "slim", "InceptionV2": "slim"}


def parse(text):
    source = _NAMES.get(text)
    return None if source is None else ({}, source)


LAYERS, ENDPOINTS = blocks.name_rules(_read(InceptionV2())[1])
SOURCES = {"slim": {"inception_v2": (dict(num_classes=1001, background_class=True), "inception")}}


def candidates(num_classes, input_size=None):
    yield InceptionV2(num_classes=num_classes, background_class=num_classes is not None)


FAMILY = Family(
    name="inception_v2", description=InceptionV2, parse=parse, names=tuple(_NAMES), layers=LAYERS,
    endpoints=ENDPOINTS, sources=SOURCES, detect=("inception_v2",), recognize=candidates,
)
