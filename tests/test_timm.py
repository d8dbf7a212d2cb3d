"""Converted weights in timm's own models (`timm.create_model(..., pretrained=False)`, not a rebuild).

timm's inception_v4 and inception_resnet_v2 are slim's checkpoints ported
(Cadene's port: 1000 classes, no auxiliary head, BatchNorm gammas of ones):
weights in slim's description go to timm's names and compute the same; a timm
state_dict reads back to canonical. Networks timm computes otherwise (its
inception_v3 averages the padding into its pools) are refused, each
difference named. timm imports through slimcompat.testing.timm_models
(torchvision's shim first).
"""

import numpy as np
import pytest

from fixtures.weights import random_weights
from slimcompat.arch import describe
from slimcompat.errors import Refusal
from slimcompat.parity.implementation import create
from slimcompat.parity.metrics import compare
from slimcompat.weights import convert, torch_io, transforms

from slimcompat.testing import timm_models
from slimcompat.testing.timm_models import timm

torch = pytest.importorskip("torch")
if not timm_models.available():     # not importorskip: importing timm needs torchvision's shim first
    pytest.skip("timm is not installed (tools/install.sh --test installs it)", allow_module_level=True)

SIZE = 75                   # the smallest input both Inception nets' VALID stems and reductions take
IMAGES = np.random.default_rng(5).uniform(-1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)
INCEPTIONS = ("inception_v4", "inception_resnet_v2")


def _nchw(images):
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


def _model(name, **kwargs):
    return timm().create_model(name, pretrained=False, **kwargs).eval()


def _slim_weights(name, seed):
    """slim's network as its checkpoint holds it (1001 classes, aux head, no gammas), random BatchNorm statistics,
    then what timm's port dropped: the aux head and the background class."""
    weights = random_weights(name, source="slim", seed=seed)
    assert weights.meta.description.aux_logits and weights.meta.background_class
    assert not any(n.endswith("/gamma") for n in weights.tensors)
    return transforms.drop_background(transforms.drop_aux(weights))


@pytest.fixture(scope="module", params=INCEPTIONS)
def exported(request, tmp_path_factory):
    """(name, slim weights without aux head and background, timm model holding them strictly)."""
    from safetensors.torch import load_file
    name = request.param
    weights = _slim_weights(name, seed=21)
    path = convert.save(tmp_path_factory.mktemp(name) / f"{name}.safetensors", weights, "torch",
                        torch_target="timm")
    state = load_file(str(path))
    model = _model(name)
    assert {k: tuple(v.shape) for k, v in state.items()} == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    model.load_state_dict(state, strict=True)
    return name, weights, model


@pytest.mark.slow          # 4-6 s each: slimcompat's Keras Inception built for the reference
def test_slims_inception_weights_load_strictly_into_timm_and_compute_the_same(exported):
    name, weights, model = exported
    reference = create("keras-faithful", weights, IMAGES.shape[1:]).load().endpoints(IMAGES)["logits"]
    with torch.no_grad():
        logits = model(_nchw(IMAGES)).numpy()
    error = compare(reference, logits)["relative"]
    print(f"\ntimm {name} with slim's weights vs slimcompat's Keras model at {SIZE} px: logits {error:.2e}")
    assert logits.shape == (2, 1000) and error <= 1e-5


@pytest.mark.parametrize("name", INCEPTIONS)
def test_a_timm_state_dict_reads_back_to_canonical_with_every_tensor_equal(name, tmp_path):
    from safetensors.torch import save_file
    model = _model(name)
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5)
    state = model.state_dict()
    save_file(state, str(tmp_path / "timm.safetensors"))
    weights = convert.load(tmp_path / "timm.safetensors")
    assert weights.meta.description == describe(f"timm:{name}")
    assert weights.meta.input.std == (127.5, 127.5, 127.5)          # timm's Inception input convention: [-1, 1]
    bound = {canonical: key for canonical, key in weights.sources.items()}
    tracked = {k for k in state if k.endswith("num_batches_tracked")}
    assert set(bound.values()) == set(state) - tracked
    for canonical, key in bound.items():
        value = state[key].numpy()
        value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value.T if value.ndim == 2 else value
        assert np.array_equal(weights.tensors[canonical], value), key
    # and out again, to timm's names: the same file's tensors
    from safetensors.torch import load_file
    again = load_file(str(convert.save(tmp_path / "again.safetensors", weights, "torch", torch_target="timm")))
    assert set(again) == set(state) and all(torch.equal(again[k], state[k]) for k in state if k not in tracked)


@pytest.mark.parametrize("name", INCEPTIONS)
def test_timms_parameter_counts_are_our_descriptions(name):
    # the real models of the pinned timm (1.0.31): sum of parameters(), running statistics not among them
    assert describe(f"timm:{name}").parameter_count(trainable_only=True) == \
        sum(p.numel() for p in _model(name).parameters())


def test_slims_checkpoint_as_it_is_is_refused_for_timm_naming_each_difference(tmp_path):
    weights = random_weights("inception_v4", source="slim", seed=3)
    with pytest.raises(Refusal) as refused:
        convert.save(tmp_path / "v4.safetensors", weights, "torch", torch_target="timm")
    message = str(refused.value)
    assert "timm's inception_v4" in message and "--faithful" in message and "\n" not in message
    assert "auxiliary logits head: True (timm: False)" in message
    assert "background class at index 0: True (timm: False)" in message
    assert list(tmp_path.iterdir()) == []


def test_timms_inception_v3_averages_the_padding_and_is_refused(tmp_path):
    """timm's inception_v3 (also for its tf_in1k weights, slim's ported) is torchvision's code: its 3x3
    average pools divide by 9 at the border, slim's by the pixels inside."""
    weights = transforms.drop_background(transforms.drop_aux(random_weights("inception_v3", source="slim", seed=4)))
    name, differences = torch_io.library_differences(weights.meta.description, "timm")
    assert name == "inception_v3"
    assert [label for label, _, _ in differences] == ["average pools count the padding"]
    with pytest.raises(Refusal, match=r"timm's inception_v3.*average pools count the padding: False \(timm: True\)"):
        convert.save(tmp_path / "v3.safetensors", weights, "torch", torch_target="timm")
    # the knob is what timm computes: described with it, slimcompat's PyTorch module is timm's model
    timm_v3 = random_weights("inception_v3", source="timm", seed=4)
    from safetensors.torch import load_file
    state = load_file(str(convert.save(tmp_path / "tv3.safetensors", timm_v3, "torch", torch_target="timm")))
    model = _model("inception_v3")
    model.load_state_dict(state, strict=True)
    reference = create("keras-faithful", timm_v3, (SIZE, SIZE, 3)).load().endpoints(IMAGES)["logits"]
    with torch.no_grad():
        assert compare(reference, model(_nchw(IMAGES)).numpy())["relative"] <= 1e-5


@pytest.mark.parametrize("name", ["resnet18", pytest.param("vgg11", marks=pytest.mark.slow)])
def test_timms_resnet_and_vgg_take_weights_in_timms_names(name, tmp_path):
    """timm's ResNets are torchvision's under the same names; its VGG keeps fc6 and fc7 as convs."""
    from safetensors.torch import load_file
    weights = random_weights(name, source="timm", seed=9, num_classes=10)
    state = load_file(str(convert.save(tmp_path / f"{name}.safetensors", weights, "torch", torch_target="timm")))
    model = _model(name, num_classes=10)
    model.load_state_dict(state, strict=True)
    size = 224 if name.startswith("vgg") else 64
    images = np.random.default_rng(2).uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    reference = create("keras-faithful", weights, images.shape[1:]).load().endpoints(images)["logits"]
    with torch.no_grad():
        assert compare(reference, model(_nchw(images)).numpy())["relative"] <= 1e-5
    assert weights.meta.description.parameter_count(trainable_only=True) == sum(p.numel() for p in model.parameters())


def test_timms_mobilenet_v2_pads_symmetrically_and_is_refused_for_slims_weights(tmp_path):
    """timm builds MobileNet v2 with PyTorch's symmetric padding and BatchNorm epsilon 1e-5, as torchvision."""
    from safetensors.torch import load_file
    slim = transforms.drop_background(random_weights("mobilenet_v2_1.4_224", source="slim", seed=6))
    with pytest.raises(Refusal) as refused:
        convert.save(tmp_path / "m.safetensors", slim, "torch", torch_target="timm")
    message = str(refused.value)
    assert "timm's mobilenetv2_140" in message and "BatchNorm epsilon: 0.001 (timm: 1e-05)" in message
    assert "padding" in message
    ported = random_weights("mobilenetv2_140", seed=6)         # what timm computes, in timm's names
    state = load_file(str(convert.save(tmp_path / "t.safetensors", ported, "torch", torch_target="timm")))
    model = _model("mobilenetv2_140")
    model.load_state_dict(state, strict=True)
    images = IMAGES[:, :64, :64]
    reference = create("keras-faithful", ported, images.shape[1:]).load().endpoints(images)["logits"]
    with torch.no_grad():
        assert compare(reference, model(_nchw(images)).numpy())["relative"] <= 1e-5
    assert ported.meta.description.parameter_count(trainable_only=True) == sum(p.numel() for p in model.parameters())


def test_the_command_line_writes_timms_names_and_refuses_with_the_way_out(tmp_path, cli):
    from safetensors.torch import load_file
    source = convert.save(tmp_path / "v4.h5", random_weights("inception_resnet_v2", source="slim", seed=8))
    out = cli("convert", source, tmp_path / "no.safetensors", "--timm", "--quiet", check=False)
    assert out.returncode == 3 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "timm's inception_resnet_v2" in out.stderr and "auxiliary logits head" in out.stderr
    assert cli("convert", source, tmp_path / "x.safetensors", "--timm", "--faithful", check=False).returncode == 2
    cli("convert", source, tmp_path / "irv2.safetensors", "--timm", "--drop-aux", "--drop-background", "--quiet")
    state = load_file(str(tmp_path / "irv2.safetensors"))
    _model("inception_resnet_v2").load_state_dict(state, strict=True)
    assert torch.equal(state["block8.branch0.bn.weight"], torch.ones(192))      # slim has no gamma: ones
    back = convert.load(tmp_path / "irv2.safetensors")
    assert back.meta.description == describe("timm:inception_resnet_v2")
    assert back.sources["block17_20/up/kernel"] == "repeat_1.19.conv2d.weight"
