"""VGG end to end: tf_slim's own vgg_16 checkpoint through every path slimcompat has.

One checkpoint, written once by tf_slim.nets.vgg.vgg_16 (random weights,
Saver V2) at its one input size, 224 px (fc6 is a 7x7 VALID conv over pool5):
138M parameters, 553 MB, so every test shares it, the canonical file converted
from it and the TensorFlow reference saved by `parity --save-reference`.
References are tf_slim's graph (the checkpoint restored by Saver),
keras.applications' VGG16 (weights=None) and torchvision's vgg16, unmodified.
vgg_19 differs only in three convs: it is checked at the level of names,
shapes, the models each target picks and its published figures.
"""

import json
import math
import warnings

import numpy as np
import pytest

import slimcompat  # noqa: F401  (repairs tf_slim before it is imported)
from slimcompat.arch import describe, layout, scheme
from slimcompat.parity.metrics import compare
from slimcompat.weights import convert, keras_io, torch_io

pytestmark = pytest.mark.zoo   # full-size zoo networks: the zoo tier

BATCH = 1
TOLERANCE = 1e-5


def _main(*args):
    """slimcompat ARGS in this process (module fixtures cannot use the function-scoped `cli`); the exit code."""
    from slimcompat.cli.main import main
    with warnings.catch_warnings():
        return main([str(a) for a in args])


@pytest.fixture(scope="module")
def files(module_tmp):
    """{'ckpt', 'h5', 'ref', 'report'}: tf_slim's vgg_16 checkpoint, `convert`'s canonical file, and what
    `parity slim-graph keras-faithful --save-reference` wrote (its exit code under 'parity')."""
    import tensorflow as tf
    import tf_slim as slim
    from tf_slim.nets import vgg as slim_vgg
    folder = module_tmp("zoo-vgg")
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v1.set_random_seed(11)
        images = v1.placeholder(tf.float32, (1, 224, 224, 3))
        with slim.arg_scope(slim_vgg.vgg_arg_scope()):
            slim_vgg.vgg_16(images, num_classes=1000, is_training=False)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            prefix = folder / "vgg_16.ckpt"
            v1.train.Saver().save(session, str(prefix), write_meta_graph=False)
    out = {"ckpt": prefix, "h5": folder / "vgg_16.h5", "ref": folder / "ref.npz", "report": folder / "parity.json"}
    assert _main("convert", prefix, out["h5"], "--quiet") == 0
    out["parity"] = _main("parity", "slim-graph", "keras-faithful", "--weights", out["h5"], "--batch", BATCH,
                          "--save-reference", out["ref"], "--json", out["report"])
    return out


@pytest.fixture(scope="module")
def reference(files):
    """(model input NHWC, slim graph's logits) from the saved reference."""
    with np.load(files["ref"]) as ref:
        return ref["model_input"], ref["endpoint:logits"]


def _nchw(images):
    import torch
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


# ----------------------------------------------------------------- 1-3: checkpoint, canonical file, parity

@pytest.mark.zoo
def test_convert_gives_the_canonical_vgg_16_with_slims_conventions(files):
    weights = convert.load(files["h5"])
    meta = weights.meta
    assert meta.description == describe("vgg_16") and meta.source_kind == "slim-checkpoint-v2"
    # keras.io/api/applications and torchvision's VGG16_Weights: 138,357,544 parameters; slim's fc8 has 1000
    # classes, no background class (research/slim's vgg_16 checkpoint is the same)
    assert weights.parameter_count == 138_357_544
    assert meta.num_classes == 1000 and not meta.background_class
    assert meta.input.color == "RGB" and meta.input.mean == (123.68, 116.78, 103.94)
    assert weights.tensors["fc6/kernel"].shape == (7, 7, 512, 4096)
    assert weights.tensors["logits/kernel"].shape == (1, 1, 4096, 1000)
    import tensorflow as tf
    reader = tf.train.load_checkpoint(str(files["ckpt"]))
    for name in ("block1/conv1/kernel", "fc6/kernel", "logits/bias"):
        slim_name = scheme("slim", meta.description).tensor(name)
        assert np.array_equal(reader.get_tensor(slim_name), weights.tensors[name]), name


@pytest.mark.zoo
def test_parity_slim_graph_against_keras_faithful_passes_at_224(files):
    report = json.loads(files["report"].read_text())
    assert files["parity"] == 0 and report["ok"], report.get("verdict")
    points = {row["endpoint"]: row for row in report["endpoints"]}
    assert list(points) == describe("vgg_16").endpoint_names()
    assert points["logits"]["shape_a"] == [BATCH, 1000] and points["block5/pool"]["shape_a"] == [BATCH, 7, 7, 512]
    assert max(row["relative"] for row in points.values()) <= TOLERANCE


@pytest.mark.zoo
def test_the_reference_is_tf_slims_own_graph_restored_by_saver(files, reference):
    """The saved reference comes from slimcompat's slim net: tf_slim's vgg_16 restored from the checkpoint
    computes it too."""
    import tensorflow as tf
    import tf_slim as slim
    from tf_slim.nets import vgg as slim_vgg
    images, logits = reference
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, images.shape)
        with slim.arg_scope(slim_vgg.vgg_arg_scope()):
            net, _ = slim_vgg.vgg_16(x, num_classes=1000, is_training=False)
        with v1.Session() as session:
            v1.train.Saver().restore(session, str(files["ckpt"]))
            theirs = session.run(net, {x: images})
    assert compare(theirs, logits)["relative"] == 0.0


# ----------------------------------------------------------------- 4: keras.applications

@pytest.mark.zoo
def test_keras_applications_vgg16_holds_the_converted_weights(files, reference, module_tmp, cli):
    """`convert --to keras --flip-color` writes a Keras-2 .h5 (fc1/fc2/predictions as Dense) that
    keras.applications.VGG16(weights=None).load_weights takes; with the colour order it expects (BGR) the
    logits are slim's. The Python API's stock model needs no flip: it is fed slim's input as it is."""
    import keras
    images, logits = reference
    weights = convert.load(files["h5"])
    out = module_tmp("zoo-vgg-keras") / "vgg16_bgr.h5"
    result = cli("convert", files["h5"], out, "--to", "keras", "--flip-color", "--quiet")
    assert "expect input BGR (x - [103.94, 116.78, 123.68])" in result.stderr      # the 0.001 of Keras' means
    model = keras.applications.VGG16(weights=None, classifier_activation=None)
    model.load_weights(str(out))
    flipped = compare(logits, model.predict(images[..., ::-1], verbose=0))["relative"]
    back = convert.load(out)
    assert back.meta.input == weights.meta.input.flipped() and back.meta.description == weights.meta.description
    assert np.array_equal(back.tensors["fc6/kernel"], weights.tensors["fc6/kernel"])
    assert np.array_equal(back.tensors["block1/conv1/kernel"], weights.tensors["block1/conv1/kernel"][:, :, ::-1])
    del model
    with pytest.warns(UserWarning, match=r"expect input RGB .*--flip-color"):
        stock = keras_io.to_keras_model(weights, faithful=False)
    assert type(stock.get_layer("fc1")).__name__ == "Dense" and stock.get_layer("fc1").kernel.shape == (25088, 4096)
    as_is = compare(logits, stock.predict(images, verbose=0))["relative"]
    print(f"\nkeras.applications.VGG16 vs tf_slim vgg_16, logits: .h5 (flipped) {flipped:.2e}, stock model {as_is:.2e}")
    assert flipped <= TOLERANCE and as_is <= TOLERANCE
    del stock
    keras.backend.clear_session()


def test_without_flip_the_keras_file_warns_of_the_colour_order(tmp_path):
    """Slim's VGG weights are RGB, keras.applications' preprocess_input gives BGR: said, never silent."""
    meta = _meta("vgg_16")
    warning = keras_io.stock_input_warning(meta)
    assert "RGB" in warning and "BGR" in warning and "--flip-color" in warning
    flipped = keras_io.stock_input_warning(meta.replace(input=meta.input.flipped()))
    assert "--flip-color" not in flipped          # colour order agrees; the 0.001 mean difference is still named
    assert keras_io.stock_model_name(describe("vgg_19")) == "VGG19"
    assert keras_io.stock_model_name(describe("vgg_16_bn")) is None      # keras.applications has no BatchNorm VGG


def _meta(name, **knobs):
    from slimcompat.arch.conventions import source_input
    from slimcompat.weights.metadata import Metadata
    description = describe(name, **knobs)
    return Metadata(description, source_input("slim", description))


# ----------------------------------------------------------------- 5: the faithful PyTorch module

@pytest.mark.zoo
def test_faithful_pytorch_module_passes_parity_against_the_reference(files, module_tmp, cli):
    out = module_tmp("zoo-vgg-torch") / "vgg_16.safetensors"
    cli("convert", files["h5"], out, "--faithful", "--quiet")
    report_path = out.with_suffix(".json")
    result = cli("parity", "torch", "--reference", files["ref"], "--weights", out, "--json", report_path)
    report = json.loads(report_path.read_text())
    errors = {row["endpoint"]: row["relative"] for row in report["endpoints"]}
    print(f"\nfaithful PyTorch vgg_16 vs TensorFlow reference: worst {max(errors.values()):.2e}, "
          f"logits {errors['logits']:.2e}")
    assert result.returncode == 0 and report["ok"] and list(errors) == describe("vgg_16").endpoint_names()
    assert max(errors.values()) <= TOLERANCE


# ----------------------------------------------------------------- 6: torchvision

@pytest.mark.zoo
def test_torchvision_vgg16_loads_strictly_and_computes_slims_logits(files, reference, module_tmp, cli):
    import torch
    from safetensors.torch import load_file
    from slimcompat.testing.torchvision_models import torchvision
    images, logits = reference
    out = module_tmp("zoo-vgg-tv") / "vgg16.safetensors"
    result = cli("convert", files["h5"], out, "--quiet")
    assert "expects input RGB (x - [123.68, 116.78, 103.94])" in result.stderr   # not torchvision's usual
    model = torchvision().models.vgg16()
    model.load_state_dict(load_file(str(out)), strict=True)
    model.eval()
    with torch.no_grad():
        error = compare(logits, model(_nchw(images)).numpy())["relative"]
    print(f"\ntorchvision vgg16 with the converted state_dict vs tf_slim vgg_16: logits {error:.2e}")
    assert error <= TOLERANCE
    back = convert.load(out)
    assert back.meta.description == describe("vgg_16") and back.tensors["fc6/kernel"].shape == (7, 7, 512, 4096)


@pytest.mark.parametrize("depth", [16, 19])
def test_torchvision_state_dict_keys_and_shapes_are_torchvisions(depth):
    """What the torchvision target writes (names, Linear shapes of fc6..fc8) against torchvision's own
    model built on the meta device (no memory): vgg_19 checked at this level."""
    import torch
    from slimcompat.testing.torchvision_models import torchvision
    with torch.device("meta"):
        theirs = {k: tuple(v.shape) for k, v in getattr(torchvision().models, f"vgg{depth}")().state_dict().items()}
    d = describe(f"vgg_{depth}")
    assert torch_io.torchvision_model(d) == f"vgg{depth}" and torch_io.torchvision_differences(d)[1] == []
    bound, dense = scheme("torchvision", d), layout.held_shapes(d, "torchvision", "torch")
    kinds = layout.kernel_kinds(d)
    ours = {bound.tensor(n): dense.get(bound.tensor(n)) or (layout.framework_shape(kinds[n], "torch", s)
                                                             if n in kinds else tuple(s))
            for n, s in d.tensors().items()}
    assert ours == theirs
    assert dense[bound.tensor("fc6/kernel")] == (4096, 512 * 7 * 7)


@pytest.mark.parametrize("name,knobs,expected", [
    ("vgg_16", dict(num_classes=1001, background_class=True), "background class at index 0: True (torchvision: "
                                                               "False)"),
    ("vgg_16_notop", {}, "torchvision has no vgg_16_notop"),
    ("vgg_16_bn", dict(bn_epsilon=1e-3), "BatchNorm epsilon: 0.001 (torchvision: 1e-05)"),
])
def test_torchvision_refusals_name_the_difference(name, knobs, expected):
    from slimcompat.errors import Refusal
    with pytest.raises(Refusal) as info:
        torch_io.check_torchvision(_meta(name, **knobs))
    message = str(info.value)
    assert expected in message and "--faithful" in message and "\n" not in message


def test_flip_color_reverses_the_conv_the_image_enters():
    from slimcompat.weights import canonical, transforms
    d = describe("vgg_11")
    rng = np.random.default_rng(3)
    tensors = {n: rng.standard_normal(s).astype(np.float32) if n.startswith("block1/") else
               np.zeros(s, np.float32) for n, s in d.tensors().items()}
    weights = canonical.Weights(tensors, _meta("vgg_11"), {})
    flipped = transforms.flip_color(weights)
    assert np.array_equal(flipped.tensors["block1/conv1/kernel"], tensors["block1/conv1/kernel"][:, :, ::-1])
    assert flipped.meta.input.color == "BGR" and flipped.meta.input.mean == (103.94, 116.78, 123.68)


# ----------------------------------------------------------------- 7: diff

def test_diff_attributes_vgg_19s_three_convs(cli, tmp_path):
    out = tmp_path / "diff.json"
    result = cli("diff", "vgg_16", "vgg_19", "--json", out, check=False)
    report = json.loads(out.read_text())
    assert result.returncode == 1 and not report["same"]
    [row] = report["rows"]
    # the three convs vgg_19 adds: block3/conv4 (256 -> 256 at 56x56), block4/conv4 and block5/conv4
    # (512 -> 512 at 28x28 and 14x14), 3x3 with biases
    params = (9 * 256 * 256 + 256) + 2 * (9 * 512 * 512 + 512)
    macs = 56 * 56 * 9 * 256 * 256 + 28 * 28 * 9 * 512 * 512 + 14 * 14 * 9 * 512 * 512
    assert (row["knob"], row["a"], row["b"]) == ("depth", 16, 19)
    assert row["params"] == -params and row["macs"] == -macs and row["units"] == ["block3", "block4", "block5"]
    assert report["parameters"] == {"a": 138_357_544, "b": 143_667_240, "difference": -params}
    # torchvision's VGG16_Weights / VGG19_Weights meta: 15.47 and 19.632 GFLOPS (multiply-adds) at 224
    assert round(report["macs"]["a"] / 1e9, 2) == 15.47 and round(report["macs"]["b"] / 1e9, 3) == 19.632


def test_diff_of_slims_and_torchvisions_vgg_16_is_training_only(cli, tmp_path):
    out = tmp_path / "diff.json"
    cli("diff", "vgg_16", "vgg16_bn", "--json", out, check=False)
    rows = {row["knob"]: row for row in json.loads(out.read_text())["rows"]}
    # torchvision's vgg16_bn: 138,365,992 trainable parameters against vgg16's 138,357,544 (its weight tables)
    assert rows["batch_norm"]["trainable"] == 138_357_544 - 138_365_992
    assert rows["batch_norm"]["macs"] == 0 and rows["l2"]["effect"] == "training"
    out2 = tmp_path / "same.json"
    cli("diff", "vgg_16", "vgg16", "--json", out2, check=False)
    assert {row["effect"] for row in json.loads(out2.read_text())["rows"]} <= {"training"}
    assert math.isclose(json.loads(out2.read_text())["parameters"]["difference"], 0)
