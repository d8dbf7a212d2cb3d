"""The seeds' own models, built by the team's extraction of their programs (tests/seed_programs), not copied.

`seed_model(key)` runs a seed program's imports, definitions and the
statements that build its model (slimcompat.structure.model_code), never its
training, under the Keras asked for: "2" (tf-keras, what the code was written
for) or "3". EXPECTED holds the description each is, from the knob sets
below, whose parameter counts equal the authors' printouts.
"""

import pathlib

import numpy as np

from slimcompat.arch import describe
from slimcompat.structure.model_code import load_model

__all__ = ["SEEDS", "SPECS", "EXPECTED", "seed_model", "spec", "randomize", "SEED_001_RESNET18", "SEED_002_RESNEXT",
           "SEED_003_RESNET18"]

SEEDS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "seed_programs"

# The seeds' own models, described by the variants their authors wrote (SEEDS has the code); tests/test_arch.py checks
# their parameter counts against the authors' printouts.
SEED_001_RESNET18 = dict(stem_stride=1, stage_strides=(2, 2, 2, 2), stride_placement="first_unit_3x3",
                         padding="same", projection="first", shortcut_act=True, residual_act=True, add_act=False,
                         conv_bias=True, bn_epsilon=1e-3, dropout=0.5, softmax=True)
SEED_002_RESNEXT = dict(stride_placement="first_unit_3x3", stage_strides=(1, 2, 2, 2), padding="same",
                        projection="all", shortcut_bn=False, shortcut_act=True, residual_act=True, add_act=False,
                        conv_bias=True, bn_epsilon=1e-3, softmax=True)
SEED_003_RESNET18 = dict(stem_kernel=3, stem_stride=1, stem_pool="none", stage_strides=(2, 2, 2, 2),
                         stride_placement="first_unit_3x3", padding="same", projection="first", bn_epsilon=1e-3,
                         num_classes=10, softmax=True)

# key: (program:expression, input shape the tests trace it at)
SPECS = {
    "001-resnet18": ("seed001_resnet18.py:model", (224, 224, 3)),
    "001-resnet50": ("seed001_resnet50.py:model", (224, 224, 3)),
    "001-resnet34-plain": ("seed001_resnet34_plain.py:model", (224, 224, 3)),
    "002-resnext": ("seed002_resnext.py:Resnext(repeat_list=[3,4,6,3])", (64, 64, 3)),
    "003-resnet18": ("seed003_resnet18.py:Resnet18()", (32, 32, 3)),
    "003-inception10": ("seed003_inception10.py:Inception10(num_blocks=2, num_classes=10)", (32, 32, 3)),
    # the exercise of seed 004 is its `reg` argument: an L2 regularizer on every conv
    "004-resnet50-elu": ("seed004_resnet50_elu.py:ResNet50(input_tensor=Input(shape=(224, 224, 3)), weights=None, "
                         "reg=regularizers.l2(1e-4))", (224, 224, 3)),
}

_SEED_001_50 = dict(SEED_001_RESNET18, stride_placement="first_unit_1x1")
EXPECTED = {
    "001-resnet18": describe("resnet_v1_18", **SEED_001_RESNET18),
    "001-resnet50": describe("resnet_v1_50", **_SEED_001_50),
    "001-resnet34-plain": describe("resnet_v1_34", **SEED_001_RESNET18),
    "002-resnext": describe("resnext_50_32x4d", **SEED_002_RESNEXT),
    "003-resnet18": describe("resnet_v1_18", **SEED_003_RESNET18),
    "003-inception10": describe("inception10"),
    "004-resnet50-elu": describe("keras1:resnet_v1_50", activation="elu", l2=1e-4, softmax=True),
}


def spec(key):
    """`path.py:EXPRESSION` of a seed model, as `--model` takes it."""
    return f"{SEEDS / SPECS[key][0].split(':')[0]}:{SPECS[key][0].split(':', 1)[1]}"


def seed_model(key, keras="2"):
    return load_model(spec(key), keras=keras)


def randomize(variables, seed=0):
    """Seeded, realistic values for a model's variables (BatchNorm scales and variances in [0.5, 1.5])."""
    rng = np.random.default_rng(seed)
    for v in variables:
        shape = tuple(v.shape)
        if any(part in v.name for part in ("variance", "gamma")):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) > 1:
            value = rng.standard_normal(shape) / np.sqrt(np.prod(shape[:-1]))
        else:
            value = 0.1 * rng.standard_normal(shape)
        v.assign(value.astype(np.float32))
