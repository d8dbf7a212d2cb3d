"""Converted weights in torchvision's own models (not a rebuild): strict loads, the same logits.

torchvision's PyPI wheel is built for CUDA torch; slimcompat.testing.torchvision_models
imports its (pure Python) classification models on the CPU torch the tests pin.
"""

import numpy as np
import pytest

from fixtures.weights import random_weights
from slimcompat.arch import describe
from slimcompat.parity.implementation import create
from slimcompat.parity.metrics import compare
from slimcompat.testing.torchvision_models import torchvision
from slimcompat.weights import convert

torch = pytest.importorskip("torch")
SHAPE = (2, 64, 64, 3)
IMAGES = np.random.default_rng(3).uniform(-1, 1, SHAPE).astype(np.float32)


def _strict_load(name, weights, tmp_path, **kwargs):
    from safetensors.torch import load_file
    state = load_file(str(convert.save(tmp_path / f"{name}.safetensors", weights, "torch")))
    model = getattr(torchvision().models, name)(**kwargs)
    assert {k: tuple(v.shape) for k, v in state.items()} == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


@pytest.mark.parametrize("name", [pytest.param("wide_resnet50_2", marks=pytest.mark.slow),
                                  pytest.param("resnext50_32x4d", marks=pytest.mark.slow), "resnet18"])
def test_torchvision_models_take_converted_weights_strictly_and_compute_the_same(name, tmp_path):
    weights = random_weights(name, seed=11, num_classes=10)
    model = _strict_load(name, weights, tmp_path, num_classes=10)
    keras_logits = create("keras-faithful", weights, SHAPE[1:]).load().endpoints(IMAGES)["logits"]
    with torch.no_grad():
        error = compare(keras_logits, model(torch.from_numpy(IMAGES.transpose(0, 3, 1, 2))).numpy())["relative"]
    assert error <= 1e-5, error


@pytest.mark.parametrize("name,width", [("wide_resnet50_2", 128), ("wide_resnet101_2", 128)])
def test_wide_resnets_have_their_own_names_and_torchvisions_parameter_counts(name, width):
    description = describe(name)
    assert description.width_per_group == width and description.name.startswith("wide_resnet_v1_")
    assert describe(description.name) == describe(name, source="slim")
    assert describe(description.name).name == description.name
    assert description.name != describe(name.replace("wide_", "").replace("_2", "")).name
    model = getattr(torchvision().models, name)()
    assert description.parameter_count(trainable_only=True) == sum(p.numel() for p in model.parameters())
