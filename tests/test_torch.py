"""PyTorch: canonical weights as state_dicts, the faithful module against TensorFlow, parity against a saved reference.

Real sources: tf_slim resnet_v2_50 and resnext_50_32x4d checkpoints saved by
Saver, the Keras-1 ResNet50 file as published (fixture writer). torchvision
does not install beside the pinned torch, so its ResNets are rebuilt from
their documented structure (slimcompat/testing/torchvision_resnet.py) to check the
torchvision-named output. Batches 2 x 64 x 64 (seeded). Run with -s for the
measured figures.
"""

import json

import numpy as np
import pytest
import torch

from conftest import run_python
from fixtures.torchvision_resnet import resnet as torchvision_resnet
from fixtures.weights import random_weights
from slimcompat.arch import describe
from slimcompat.errors import MappingError, SlimcompatError, WeightsError
from slimcompat.nets import torch_net
from slimcompat.parity import environment, inputs, reference, torch_side
from slimcompat.parity.implementation import create
from slimcompat.parity.metrics import compare
from slimcompat.testing.seeds import SEED_001_RESNET18, SEED_002_RESNEXT
from slimcompat.weights import canonical, convert, torch_io

SHAPE = (2, 64, 64, 3)
BATCH = inputs.random_batch(SHAPE, seed=1)
IMAGES = np.random.default_rng(2).uniform(-1, 1, SHAPE).astype(np.float32)
BLOCK_TF = ("tensorflow", "keras", "tf_keras", "tf_slim")


def nchw(images):
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


@pytest.fixture(scope="module")
def sources(fixture_files):
    """{model: (source file, TensorFlow reference implementation)} of the three models the issue names."""
    v2 = fixture_files.slim_checkpoint("resnet_v2", 1001, seed=3)
    resnext = fixture_files.slim_checkpoint("resnext_50_32x4d", 1000, seed=4)
    keras1, _ = fixture_files.keras1_resnet50(seed=5)
    return {"resnet_v2_50": (v2["V2"], "slim-graph"), "resnet50 (Keras-1 file)": (keras1, "keras-legacy"),
            "resnext_50_32x4d": (resnext["V2"], "slim-graph")}


def save_reference(path, weights, key, seed=None):
    environment.configure(False)
    a = create(key, weights, SHAPE[1:]).load()
    return reference.save(path, a, BATCH, a.endpoints(BATCH.for_side(a)), environment.record("CPU"), seed)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["resnet_v2_50", "resnet50 (Keras-1 file)", "resnext_50_32x4d"])
def test_pytorch_cpu_matches_the_tensorflow_reference_at_every_endpoint(sources, model, tmp_path):
    source, key = sources[model]
    weights = convert.load(source)
    ref = save_reference(tmp_path / "ref.npz", weights, key)
    converted = convert.save(tmp_path / "w.safetensors", weights, "torch", torch_target="faithful")
    report = torch_side.check_reference(reference.Reference(ref), convert.load(converted))
    errors = {r["endpoint"]: r["relative"] for r in report["endpoints"]}
    print(f"\n{model}: PyTorch CPU float32 vs TensorFlow CPU ({key}), worst endpoint "
          f"{max(errors, key=errors.get)} {max(errors.values()):.2e}; logits {errors['logits']:.2e}")
    assert report["names"]["ok"] and report["names"]["matched"] == len(weights.tensors)
    assert list(errors) == weights.meta.description.endpoint_names()
    assert all(r["comparable"] for r in report["endpoints"])
    assert max(errors.values()) <= 1e-5 and report["ok"] and report["tolerance"]["relative"] == 1e-5
    assert report["environment"]["framework"] == "torch" and report["environment"]["reference"]["device"] == "CPU"


@pytest.mark.parametrize("name,knobs", [
    ("inception10", dict(activation="elu", elu_alpha=0.5)),
    ("resnet_v1_18", SEED_001_RESNET18),
    ("resnext_50_32x4d", SEED_002_RESNEXT),
    ("resnet_v2_50", dict(activation="elu", padding="same")),
    ("ResNet50", dict(activation="elu")),
])
def test_every_family_and_variant_runs_in_pytorch_as_in_tensorflow(name, knobs):
    """TF SAME padding (asymmetric on even sizes, -inf in pools), zero-padded pools after ELU, ELU alpha,
    grouped convs, biases, projections: the faithful module against the faithful Keras model."""
    weights = random_weights(describe(name, **knobs), seed=6)
    keras_points = create("keras-faithful", weights, SHAPE[1:]).load().endpoints(IMAGES)
    net = torch_net.from_weights(weights)
    with torch.no_grad():
        output, points = net.endpoints(nchw(IMAGES))
    worst = 0.0
    for endpoint, value in points.items():
        value = value.numpy()
        metrics = compare(keras_points[endpoint], value.transpose(0, 2, 3, 1) if value.ndim == 4 else value)
        assert metrics["comparable"], endpoint
        worst = max(worst, metrics["relative"])
    print(f"\n{name} {'variant' if knobs else ''}: worst endpoint relative error {worst:.2e}")
    assert worst <= 1e-5 and list(points) == weights.meta.description.endpoint_names()
    if weights.meta.softmax:
        assert torch.allclose(output.sum(dim=1), torch.ones(2))


@pytest.mark.slow
def test_torchvision_export_of_the_keras1_weights_is_refused_naming_each_difference(sources, tmp_path, cli):
    source, _ = sources["resnet50 (Keras-1 file)"]
    out = cli("convert", source, tmp_path / "r50.safetensors", "--quiet", check=False)
    assert out.returncode == 3 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    message = out.stderr.strip()
    for difference in ("stem pooling padding: valid (torchvision: pad1)",
                       "stride placement: first_unit_1x1 (torchvision: first_unit_3x3)",
                       "BatchNorm epsilon: 0.001 (torchvision: 1e-05)",
                       "conv biases before BatchNorm: True (torchvision: False)"):
        assert difference in message
    assert "torchvision's resnet50" in message and "--faithful" in message and "projection" not in message
    assert list(tmp_path.iterdir()) == []
    assert cli("convert", source, tmp_path / "r50.safetensors", "--faithful", "--quiet").returncode == 0


@pytest.mark.parametrize("name,expected", [
    ("resnet_v1_50", ["stem pooling padding", "stage strides", "stride placement"]),
    ("ResNet50", ["stride placement", "conv biases before BatchNorm", "BatchNorm epsilon"]),
    ("resnext_50_32x4d", ["stem pooling padding", "stage strides", "stride placement"]),
    ("resnet50", []),
    ("resnext101_32x8d", []),
])
def test_torchvision_differences_are_those_that_change_its_outputs(name, expected):
    model, differences = torch_io.torchvision_differences(describe(name, num_classes=10))
    assert model is not None and [label for label, _, _ in differences] == expected
    background = describe("resnet50", num_classes=1001, background_class=True)
    assert torch_io.torchvision_differences(background)[1] == [("background class at index 0", True, False)]
    assert torch_io.torchvision_differences(describe("resnet_v2_50")) == (None, [])


def test_refusals_without_a_torchvision_model_say_so(tmp_path):
    for name in ("resnet_v2_50", "inception10", "resnet_v1_200"):
        with pytest.raises(SlimcompatError, match=f"torchvision has no {name}"):
            convert.save(tmp_path / "x.safetensors", random_weights(name), "torch")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["resnet50", "resnet18", "resnext50_32x4d"])
def test_torchvision_named_weights_load_strictly_into_torchvision_and_compute_the_same(name, tmp_path):
    weights = random_weights(name, seed=7, num_classes=10)
    path = convert.save(tmp_path / f"{name}.safetensors", weights, "torch")
    from safetensors.torch import load_file
    state = load_file(str(path))
    model = torchvision_resnet(name, num_classes=10)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in state.items()} == expected
    model.load_state_dict(state, strict=True)
    keras_logits = create("keras-faithful", weights, SHAPE[1:]).load().endpoints(IMAGES)["logits"]
    with torch.no_grad():
        error = compare(keras_logits, model(nchw(IMAGES)).numpy())["relative"]
    print(f"\ntorchvision {name} with the exported state_dict vs TensorFlow: logits {error:.2e}")
    assert error <= 1e-5


def test_a_torchvision_state_dict_comes_into_the_format(tmp_path):
    """Reverse direction: a state_dict saved from a torchvision-structured model, no slimcompat metadata."""
    from safetensors.torch import save_file
    model = torchvision_resnet("resnext50_32x4d", num_classes=7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    save_file({f"module.{k}": v for k, v in model.state_dict().items()}, str(tmp_path / "tv.safetensors"))
    assert convert.detect(tmp_path / "tv.safetensors") == "torch"
    weights = convert.load(tmp_path / "tv.safetensors")
    assert weights.meta.description == describe("resnext50_32x4d", num_classes=7)
    assert weights.meta.input.std == (58.395, 57.12, 57.375) and weights.meta.source_kind == "torch-safetensors"
    assert weights.sources["stage1/unit1/shortcut/kernel"] == "layer1.0.downsample.0.weight"
    kernel = model.state_dict()["layer2.0.conv2.weight"].numpy()
    assert np.array_equal(weights.tensors["stage2/unit1/conv2/kernel"], kernel.transpose(2, 3, 1, 0))
    with torch.no_grad():
        ours, theirs = torch_net.from_weights(weights)(nchw(IMAGES)), model(nchw(IMAGES))
    assert compare(theirs.numpy(), ours.numpy())["relative"] <= 1e-6


@pytest.mark.parametrize("name,dtype", [("resnet_v2_50", np.float32), ("keras1:resnet_v1_50", np.float32),
                                        ("resnext_50_32x4d", np.float16), ("inception10", np.float64),
                                        ("resnet18", np.float32)])
def test_canonical_to_torch_to_canonical_is_bit_exact(name, dtype, tmp_path):
    weights = random_weights(name, seed=8)
    weights = canonical.Weights({n: t.astype(dtype) for n, t in weights.tensors.items()}, weights.meta,
                                weights.sources)
    target = "torchvision" if name == "resnet18" else "faithful"
    back = convert.load(convert.save(tmp_path / "w.safetensors", weights, "torch", torch_target=target))
    assert back.meta.description == weights.meta.description and back.meta.input == weights.meta.input
    assert list(back.tensors) == list(weights.tensors)
    for n, t in weights.tensors.items():
        assert back.tensors[n].dtype == t.dtype and np.array_equal(back.tensors[n], t), n
    module = torch_net.canonical_weights(torch_net.from_weights(weights))
    assert all(np.array_equal(module[n], t.astype(np.float32)) for n, t in weights.tensors.items())


@pytest.mark.slow
def test_round_trip_through_the_command_line(sources, tmp_path, cli):
    source, _ = sources["resnext_50_32x4d"]
    cli("convert", source, tmp_path / "a.h5", "--quiet")
    cli("convert", tmp_path / "a.h5", tmp_path / "a.safetensors", "--faithful", "--quiet")
    cli("convert", tmp_path / "a.safetensors", tmp_path / "b.h5", "--quiet")
    a, b = canonical.read(tmp_path / "a.h5"), canonical.read(tmp_path / "b.h5")
    assert all(np.array_equal(a.tensors[n], b.tensors[n]) for n in a.tensors)
    assert b.meta.description == a.meta.description and b.meta.source_kind == "torch-safetensors"
    shown = cli("inspect", tmp_path / "a.safetensors").stdout
    assert "torch (torch-safetensors)" in shown and "resnext_50_32x4d" in shown


@pytest.mark.slow
def test_parity_against_a_reference_runs_without_tensorflow(sources, tmp_path, cli):
    """The whole path a GPU machine without TensorFlow runs: TF side writes the reference, PyTorch checks it."""
    source, _ = sources["resnet_v2_50"]
    out = cli("parity", "slim-graph", "keras-faithful", "--weights", source, "--size", "64",
                     "--save-reference", tmp_path / "ref.npz")
    assert "PASS" in out.stdout
    cli("convert", source, tmp_path / "w.safetensors", "--faithful", "--quiet")
    script = (f"import sys\nfor m in {BLOCK_TF!r}: sys.modules[m] = None\n"
              "from slimcompat.cli.main import main\nrc = main(sys.argv[1:])\n"
              f"loaded = [m for m in sys.modules if m.split('.')[0] in {BLOCK_TF!r} and sys.modules[m] is not None]\n"
              "print('LOADED', loaded)\nsys.exit(rc)\n")
    proc = run_python("-c", script, "parity", "torch", "--reference", tmp_path / "ref.npz", "--weights",
                      tmp_path / "w.safetensors", "--json", tmp_path / "r.json", "--html", tmp_path / "r.html")
    assert "LOADED []" in proc.stdout and "PASS: names map one-to-one and all 19 endpoints" in proc.stdout
    assert "PyTorch 2." in proc.stdout and "reference: TensorFlow" in proc.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "slimcompat-parity/1" and report["verdict"] == "pass"
    assert report["a"]["implementation"] == "slim-graph" and report["b"]["implementation"] == "torch"
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 1 and "<script" not in page


def test_a_reference_of_random_weights_regenerates_them_and_other_weights_fail(tmp_path):
    weights = random_weights("resnet_v1_18", "slim", seed=9)
    ref = reference.Reference(save_reference(tmp_path / "ref.npz", weights, "keras-faithful", seed=9))
    report = torch_side.check_reference(ref, dtype="bfloat16")
    errors = [r["relative"] for r in report["endpoints"]]
    print(f"\nresnet_v1_18, PyTorch CPU bfloat16 vs TensorFlow float32: worst endpoint {max(errors):.2e}")
    assert report["ok"] and report["tolerance"]["device"] == "CPU bfloat16" and max(errors) > 1e-4
    other = random_weights("resnet_v1_18", "slim", seed=10)
    report = torch_side.check_reference(ref, other, run_diagnosis=False)
    finding = report["diagnosis"][0]
    assert not report["ok"] and finding["cause"] == "weights" and len(finding["tensors"]) == len(other.tensors)
    assert finding["first_endpoint"] == "stem"
    no_seed = reference.Reference(save_reference(tmp_path / "plain.npz", weights, "keras-faithful"))
    with pytest.raises(SlimcompatError, match="give the weights it was computed with"):
        torch_side.check_reference(no_seed)


def test_bad_files_and_options_are_one_line_errors(tmp_path, cli):
    path = convert.save(tmp_path / "w.safetensors", random_weights("resnet18"), "torch")
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="cut.safetensors: not a readable safetensors file"):
        torch_io.read(truncated)
    from safetensors.numpy import load_file, save_file
    state = load_file(str(path))
    del state["layer3.1.bn2.running_var"]
    save_file(state, str(tmp_path / "short.safetensors"))
    with pytest.raises(MappingError, match="stage3/unit2/conv2/bn/moving_variance"):
        convert.load(tmp_path / "short.safetensors")
    (tmp_path / "notref.npz").write_bytes(b"not a zip")
    for args, words in [(["parity", "torch", "--reference", tmp_path / "notref.npz"], "not a slimcompat reference"),
                        (["parity", "slim-graph", "torch", "--reference", tmp_path / "r.npz"], "checks one side"),
                        (["parity", "keras-faithful", "--save-reference", tmp_path / "r.npz", "--tf32"],
                         "CPU float32"),
                        (["parity", "torch", "--reference", tmp_path / "x.npz", "--device", "cuda:7"], "no such"),
                        (["convert", truncated, tmp_path / "x.h5"], "not a readable safetensors file")]:
        out = cli(*args, check=False)
        assert out.returncode == 2 and words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    with pytest.raises(SlimcompatError, match="'cuda:7' is not visible to PyTorch"):
        torch_side.torch_device("cuda:7")


def test_without_the_extra_every_torch_path_names_it(tmp_path):
    canonical_file = convert.save(tmp_path / "w.h5", random_weights("resnet18"), "canonical")
    script = ("import sys\nfor m in ('torch', 'safetensors'): sys.modules[m] = None\n"
              "from slimcompat.cli.main import main\nsys.exit(main(sys.argv[1:]))\n")
    for args in (["convert", canonical_file, tmp_path / "w.safetensors"],
                 ["parity", "torch", "--reference", tmp_path / "r.npz"]):
        out = run_python("-c", script, *args, check=False)
        assert out.returncode == 2 and "pip install 'slimcompat[torch]'" in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w.safetensors").exists()
    out = run_python("-c", script, "convert", canonical_file, tmp_path / "w.ckpt", "--quiet")
    assert out.returncode == 0 and (tmp_path / "w.ckpt.index").is_file()
