"""MobileNet v1 and v2 end to end: a slim checkpoint through every path slimcompat offers for it.

tf_slim has no MobileNet, so each checkpoint is written by slimcompat's slim
net (tf_slim idiom, research/slim's variable names: tests/test_family_mobilenet.py
checks them against research/slim's scopes), with random weights and
randomized BatchNorm statistics, saved by tf.compat.v1.train.Saver under the
zoo's file name (`mobilenet_v1_0.5_160.ckpt`): the resolution the weights were
trained at is in no variable, only in that name. References: the slim graph's
own logits; keras.applications' MobileNet / MobileNetV2 built with
weights=None; torchvision's own mobilenet_v2; research/slim's published
multiply-adds. The two smallest networks run by default, the 224 px width-1.0
v1 and width-1.4 v2 with `-m slow`. Run with -s for the measured figures.
"""

import json

import numpy as np
import pytest

from slimcompat.arch import describe
from slimcompat.parity.metrics import compare
from slimcompat.weights import canonical, convert

# (zoo name, keras.applications model, alpha)
FAST = [("mobilenet_v1_0.5_160", "MobileNet", 0.5), ("mobilenet_v2_1.0_224", "MobileNetV2", 1.0)]
SLOW = [("mobilenet_v1_1.0_224", "MobileNet", 1.0), ("mobilenet_v2_1.4_224", "MobileNetV2", 1.4)]
MODELS = FAST + [pytest.param(*case, marks=pytest.mark.zoo) for case in SLOW]
IDS = [name for name, _, _ in FAST + SLOW]


pytestmark = pytest.mark.zoo   # full-size zoo networks: the zoo tier

def _build(folder, name):
    """(checkpoint prefix, slim logits [2, 1001] of `images`, images) of a random slim net saved by Saver."""
    import tensorflow as tf
    import tf_slim as slim
    from slimcompat.nets import slim_net
    from slimcompat.testing.slim_models import randomize_batch_norm
    v1 = tf.compat.v1
    description = describe(name)
    images = np.random.default_rng(11).uniform(-1, 1, (2, *description.input_size, 3)).astype(np.float32)
    prefix = folder / f"{name}.ckpt"
    with tf.Graph().as_default():
        v1.set_random_seed(5)
        inputs = v1.placeholder(tf.float32, images.shape)
        with slim.arg_scope(slim_net.arg_scope_for(description)):
            logits, _ = slim_net.net_fn(description)(inputs, is_training=False)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            randomize_batch_norm(session, seed=6)
            v1.train.Saver().save(session, str(prefix), write_meta_graph=False)
            out = session.run(logits, {inputs: images})
    return prefix, out.reshape(len(images), -1), images


class Zoo:
    """Per network, built once for the module: the checkpoint, its canonical file, the parity reference."""

    def __init__(self, module_tmp):
        self._mktemp, self._built = module_tmp, {}

    def __getitem__(self, name):
        if name not in self._built:
            folder = self._mktemp(name)
            prefix, logits, images = _build(folder, name)
            self._built[name] = dict(folder=folder, ckpt=prefix, logits=logits, images=images,
                                     h5=folder / "canonical.h5", ref=folder / "ref.npz")
        return self._built[name]


@pytest.fixture(scope="module")
def zoo(module_tmp):
    return Zoo(module_tmp)


def _converted(zoo, name, cli):
    """The canonical file of the zoo checkpoint, converted once (`slimcompat convert CKPT out.h5`)."""
    built = zoo[name]
    if not built["h5"].exists():
        cli("convert", built["ckpt"], built["h5"], "--quiet")
    return built


@pytest.mark.parametrize("name,stock,alpha", MODELS, ids=IDS)
def test_convert_gives_the_zoo_description_with_slims_background_class(zoo, name, stock, alpha, cli):
    import tensorflow as tf
    built = _converted(zoo, name, cli)
    weights = canonical.read(built["h5"])
    description = weights.meta.description
    assert description == describe(name) and description.name == name
    assert description.num_classes == 1001 and description.background_class
    assert description.input_size == (int(name.rsplit("_", 1)[1]),) * 2
    saved = tf.train.load_checkpoint(str(built["ckpt"])).get_variable_to_shape_map()
    assert len(weights.tensors) == len(saved)
    assert sum(t.size for t in weights.tensors.values()) == sum(int(np.prod(s)) for s in saved.values())


@pytest.mark.parametrize("name,stock,alpha", MODELS, ids=IDS)
def test_parity_slim_graph_against_keras_faithful_at_the_default_size(zoo, name, stock, alpha, cli, tmp_path):
    built = _converted(zoo, name, cli)
    out = cli("parity", "slim-graph", "keras-faithful", "--weights", built["h5"], "--save-reference", built["ref"],
              "--json", tmp_path / "report.json", "--no-diagnosis")
    report = json.loads((tmp_path / "report.json").read_text())
    size = describe(name).input_size
    errors = {r["endpoint"]: r["relative"] for r in report["endpoints"]}
    print(f"\n{name}: slim graph vs faithful Keras at {size}: worst {max(errors.values()):.2e}, "
          f"logits {errors['logits']:.2e}")
    assert out.returncode == 0 and report["ok"] and report["names"]["ok"]
    assert list(errors) == describe(name).endpoint_names() and max(errors.values()) <= 1e-5
    assert report["input"]["shape"][1:3] == list(size)


@pytest.mark.parametrize("name,stock,alpha", MODELS, ids=IDS)
def test_keras_applications_model_loads_the_weights_and_gives_slims_logits(zoo, name, stock, alpha, cli):
    """1001 classes against keras.applications' 1000: refused unless --drop-background; then the stock model
    (1x1-conv `conv_preds` in v1, Dense `predictions` in v2, depthwise kernels, relu6) loads the .h5."""
    import keras
    built = _converted(zoo, name, cli)
    target = built["folder"] / "keras.h5"
    refused = cli("convert", built["h5"], target, "--to", "keras", check=False)
    assert refused.returncode == 2 and "--drop-background" in refused.stderr and not target.exists()
    cli("convert", built["h5"], target, "--to", "keras", "--drop-background", "--quiet")
    size = describe(name).input_size
    model = getattr(keras.applications, stock)(weights=None, alpha=alpha, input_shape=(*size, 3),
                                               classifier_activation=None)
    model.load_weights(target)
    logits = np.asarray(model(built["images"], training=False)).reshape(2, -1)
    error = compare(built["logits"][:, 1:], logits)["relative"]
    print(f"\n{name}: keras.applications.{stock}(alpha={alpha}) with the converted .h5 vs slim: {error:.2e}")
    assert logits.shape == (2, 1000) and error <= 1e-5
    # the input convention the file records is keras.applications' own preprocessing for the model: [-1, 1]
    module = keras.applications.mobilenet if stock == "MobileNet" else keras.applications.mobilenet_v2
    pixels = np.arange(0, 256, 15, dtype=np.float32)
    convention = convert.load(target).meta.input
    expected = np.asarray(module.preprocess_input(pixels.copy()))
    assert np.allclose((pixels - convention.mean[0]) / convention.std[0], expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name,stock,alpha", MODELS, ids=IDS)
def test_faithful_pytorch_module_passes_parity_against_the_tensorflow_reference(zoo, name, stock, alpha, cli):
    built = _converted(zoo, name, cli)
    if not built["ref"].exists():
        cli("parity", "slim-graph", "keras-faithful", "--weights", built["h5"], "--save-reference", built["ref"],
            "--no-diagnosis")
    state = built["folder"] / "faithful.safetensors"
    cli("convert", built["h5"], state, "--faithful", "--quiet")
    out = cli("parity", "torch", "--reference", built["ref"], "--weights", state)
    assert out.returncode == 0 and "PASS" in out.stdout


def test_torchvision_mobilenet_v2_computes_something_else_and_export_names_it(zoo, cli):
    """torchvision's mobilenet_v2 pads strided convs symmetrically and uses BatchNorm epsilon 1e-5; slim's
    1001st class is a background. `convert --to torch` is refused naming the three; the faithful state_dict
    still loads strictly into torchvision's model (same names and shapes), which shows what they cost."""
    import torch
    from safetensors.torch import load_file
    from slimcompat.nets import torch_net
    from slimcompat.testing.torchvision_models import torchvision
    name = "mobilenet_v2_1.0_224"
    built = _converted(zoo, name, cli)
    target = built["folder"] / "torchvision.safetensors"
    out = cli("convert", built["h5"], target, "--quiet", check=False)
    message = out.stderr.strip()
    assert out.returncode == 3 and len(message.splitlines()) == 1 and not target.exists(), message
    for difference in ("padding of strided convs: same (torchvision: explicit)",
                       "BatchNorm epsilon: 0.001 (torchvision: 1e-05)",
                       "background class at index 0: True (torchvision: False)"):
        assert difference in message
    assert "torchvision's mobilenet_v2" in message and "--faithful" in message

    state = built["folder"] / "faithful_tv.safetensors"
    cli("convert", built["h5"], state, "--faithful", "--quiet")
    model = torchvision().models.mobilenet_v2(num_classes=1001).eval()
    model.load_state_dict(load_file(str(state)), strict=True)
    images = torch.from_numpy(np.ascontiguousarray(built["images"].transpose(0, 3, 1, 2)))
    with torch.no_grad():
        theirs = model(images).numpy()
        ours = torch_net.from_weights(convert.load(built["h5"])).eval()(images).numpy().reshape(2, -1)
    cost, faithful = compare(built["logits"], theirs)["relative"], compare(built["logits"], ours)["relative"]
    print(f"\n{name} in torchvision's mobilenet_v2 vs slim: logits {cost:.2e} (faithful module: {faithful:.2e})")
    assert faithful <= 1e-5 < cost


@pytest.mark.parametrize("name", ["mobilenet_v1_0.5_160", "mobilenet_v2_1.4_224"])
def test_torchvision_export_without_a_torchvision_model_is_refused(name, tmp_path):
    from fixtures.weights import random_weights
    from slimcompat.errors import SlimcompatError
    with pytest.raises(SlimcompatError, match=f"torchvision has no {name}"):
        convert.save(tmp_path / "x.safetensors", random_weights(name), "torch")
    assert list(tmp_path.iterdir()) == []


# research/slim/nets/mobilenet_v1.md and mobilenet/README.md: million MACs of the published checkpoints
@pytest.mark.parametrize("a,b,macs_a,macs_b", [
    ("mobilenet_v1_0.5_160", "mobilenet_v1_1.0_160", 77, 291),
    ("mobilenet_v2_1.4_224", "mobilenet_v2_1.0_224", 582, 300),
])
def test_diff_attributes_parameters_and_multiply_adds_to_the_width(a, b, macs_a, macs_b, cli, tmp_path):
    out = cli("diff", a, b, "--json", tmp_path / "diff.json", check=False)
    assert out.returncode == 1      # as diff(1): the networks differ
    report = json.loads((tmp_path / "diff.json").read_text())
    # the tables round loosely (300.78 M is 300 there)
    assert abs(report["macs"]["a"] / 1e6 - macs_a) < 1 and abs(report["macs"]["b"] / 1e6 - macs_b) < 1
    rows = {row["knob"]: row for row in report["rows"]}
    assert set(rows) == {"width"}
    assert rows["width"]["params"] == report["parameters"]["difference"] == \
        describe(a).parameter_count() - describe(b).parameter_count()
    assert rows["width"]["macs"] == report["macs"]["difference"]
    assert cli("diff", a, b, check=False).stdout.count("width multiplier (alpha)") == 1


def _stock_names():
    from slimcompat.arch.registry import RECORDS
    return sorted((name, record.name) for record in RECORDS for name in record.keras_applications)


@pytest.mark.parametrize("stock,family", _stock_names())
def test_kernels_a_stock_model_holds_in_another_rank_are_what_its_family_declares(stock, family):
    # a Keras-2 .h5 is written in the stock model's shapes without building it: the family's `dense` and `conv`
    # must name every kernel keras.applications holds in another rank than the canonical, and no other
    from slimcompat.arch.layout import held_shapes
    from slimcompat.nets.keras_net import canonical_param
    from slimcompat.weights import keras_io
    import warnings
    description = describe(stock)
    name, _, arguments = keras_io.stock_model(description)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras_io.build_stock(name, (*description.input_size, 3), description.num_classes, arguments)
    canonical_shapes = {f"{layer}/{param}": shape for layer_param, shape in description.tensors().items()
                        for layer, _, param in [layer_param.rpartition("/")]}
    from slimcompat.arch import scheme
    bound = scheme("keras", description)
    held = {}
    for layer in model.layers:
        for w in layer.weights:
            key = f"{layer.name}/{canonical_param(layer, w)}"
            canonical_name = bound.canonical_tensor(key)
            if len(w.shape) != len(canonical_shapes[canonical_name]):
                held[key] = tuple(w.shape)
    assert held == held_shapes(description, "keras", "tensorflow")
