"""Inception v1, v2 and v3 end to end, from checkpoints tf_slim's own nets write.

tf_slim.nets.inception_v1/v2/v3 build each net at its size (224, 224, 299)
with 1001 classes, random weights and randomised BatchNorm statistics;
Saver writes the checkpoint once per module. From it: `convert` to the
canonical file, `parity slim-graph keras-faithful`, slimcompat's slim net
against tf_slim's own logits, keras.applications' InceptionV3 loading the
converted Keras file (aux head and background class refused until dropped),
the faithful PyTorch module against a saved reference, torchvision's
inception_v3 (refused for `convert --to torch`; what it computes instead is
measured), and `diff`. Run with -s for the measured figures.
"""

import numpy as np
import pytest

from slimcompat.arch import describe
from slimcompat.weights import convert, transforms

# input size of tf_slim's nets, per family (tf_slim.nets.<family>.<family>.default_image_size)
NETS = {"inception_v1": 224, "inception_v2": 224, "inception_v3": 299}


pytestmark = pytest.mark.zoo   # full-size zoo networks: the zoo tier

def relative(a, b):
    return float(np.abs(a - b).max() / np.abs(a).max())


def build_tf_slim(folder, family):
    """tf_slim's own net saved by Saver: (checkpoint prefix, input batch, tf_slim's logits, {variable: shape})."""
    import importlib
    import tensorflow as tf
    import tf_slim as slim
    from slimcompat.testing.slim_models import randomize_batch_norm
    module = importlib.import_module(f"tf_slim.nets.{family}")
    size = NETS[family]
    images = np.random.default_rng(1).uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v1.set_random_seed(0)
        inputs = v1.placeholder(tf.float32, images.shape)
        with slim.arg_scope(getattr(module, f"{family}_arg_scope")()):
            net, _ = getattr(module, family)(inputs, 1001, is_training=False)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            randomize_batch_norm(session, 0)
            prefix = folder / "model.ckpt"
            v1.train.Saver().save(session, str(prefix), write_meta_graph=False)
            logits = session.run(net, {inputs: images})
    shapes = {name: shape for name, shape in tf.train.list_variables(str(prefix)) if name != "global_step"}
    return prefix, images, logits, shapes


@pytest.fixture(scope="module")
def nets(module_tmp):
    """nets(family) -> dict(prefix, images, logits, shapes, canonical): built once per module."""
    from slimcompat.cli.main import main
    made = {}

    def get(family):
        if family not in made:
            folder = module_tmp(family)
            prefix, images, logits, shapes = build_tf_slim(folder, family)
            assert main(["convert", str(prefix), str(folder / "canonical.h5"), "--quiet"]) == 0
            made[family] = dict(prefix=prefix, images=images, logits=logits, shapes=shapes,
                                canonical=folder / "canonical.h5", folder=folder)
        return made[family]
    return get


def _net_test(family):
    return pytest.param(family, marks=pytest.mark.zoo)


@pytest.mark.parametrize("family", [_net_test(f) for f in NETS])
def test_tf_slim_checkpoint_converts_and_the_slim_graph_matches_keras_and_tf_slim(nets, family, cli):
    from slimcompat.parity.implementation import create
    net = nets(family)
    weights = convert.load(net["canonical"])
    meta = weights.meta
    assert meta.architecture == family and meta.num_classes == 1001 and meta.background_class
    assert meta.description.input_size == (NETS[family], NETS[family])
    # every variable tf_slim's own net made, and nothing else (global_step aside)
    assert weights.parameter_count == sum(int(np.prod(s)) for s in net["shapes"].values())
    assert len(weights.tensors) == len(net["shapes"])

    out = cli("parity", "slim-graph", "keras-faithful", "--weights", net["canonical"])
    assert "PASS" in out.stdout and f"{NETS[family]}x{NETS[family]}x3" in out.stdout, out.stdout[-2000:]

    # slimcompat's slim net on the converted weights computes tf_slim's own net's logits
    side = create("slim-graph", weights, net["images"].shape[1:]).load()
    ours = np.asarray(side.forward(net["images"])).reshape(net["logits"].shape)
    side.close()
    error = relative(net["logits"], ours)
    print(f"\n{family}: slimcompat slim graph vs tf_slim's own net, logits relative {error:.2e}")
    assert error <= 1e-5


@pytest.mark.zoo
def test_keras_applications_inception_v3_loads_the_converted_weights(nets, cli, tmp_path):
    import keras
    net = nets("inception_v3")
    target = tmp_path / "inception_v3_keras.h5"
    refused = cli("convert", net["canonical"], target, "--to", "keras", "--quiet", check=False)
    assert refused.returncode != 0 and "--drop-background" in refused.stderr
    refused = cli("convert", net["canonical"], target, "--to", "keras", "--drop-background", "--quiet", check=False)
    message = refused.stderr.strip()
    assert refused.returncode != 0 and len(message.splitlines()) == 1, message
    assert "auxiliary head" in message and "keras.applications.InceptionV3 lacks" in message
    assert "--drop-aux" in message and not target.exists()
    cli("convert", net["canonical"], target, "--to", "keras", "--drop-background", "--drop-aux", "--quiet")

    model = keras.applications.InceptionV3(weights=None, classifier_activation=None)
    model.load_weights(str(target))
    logits = np.asarray(model(net["images"], training=False))
    expected = net["logits"][:, 1:]      # tf_slim's 1001 classes, background (index 0) dropped
    error = relative(expected, logits)
    print(f"\nkeras.applications.InceptionV3 vs tf_slim inception_v3 (background dropped): relative {error:.2e}")
    assert error <= 1e-5
    dropped = transforms.drop_aux(transforms.drop_background(convert.load(net["canonical"])))
    assert dropped.parameter_count == model.count_params()

    # the Python API refuses alike, and builds the stock model once the head is dropped
    from slimcompat.errors import Refusal
    from slimcompat.weights import keras_io
    with pytest.raises(Refusal, match="auxiliary head .* --drop-aux"):
        keras_io.to_keras_model(transforms.drop_background(convert.load(net["canonical"])), faithful=False)
    stock = keras_io.to_keras_model(dropped, faithful=False)
    assert relative(expected, np.asarray(stock(net["images"], training=False))) <= 1e-5


@pytest.mark.zoo
def test_faithful_pytorch_inception_v3_passes_the_saved_reference(nets, cli, tmp_path):
    net = nets("inception_v3")
    reference = tmp_path / "ref.npz"
    cli("parity", "slim-graph", "--weights", net["canonical"], "--batch", "1", "--save-reference", reference)
    state = tmp_path / "faithful.safetensors"
    cli("convert", net["canonical"], state, "--faithful", "--quiet")
    out = cli("parity", "torch", "--reference", reference, "--weights", state)
    assert "PASS: names map one-to-one and all 21 endpoints are within tolerance" in out.stdout, out.stdout[-2000:]


@pytest.mark.zoo
def test_torchvision_inception_v3_is_refused_naming_what_it_computes_otherwise(nets, cli, tmp_path):
    import torch
    from slimcompat.arch import layout
    from slimcompat.nets import torch_net
    from slimcompat.testing.torchvision_models import torchvision
    net = nets("inception_v3")
    target = tmp_path / "tv.safetensors"
    refused = cli("convert", net["canonical"], target, "--drop-background", "--quiet", check=False)
    message = refused.stderr.strip()
    assert refused.returncode == 3 and len(message.splitlines()) == 1, message
    assert "torchvision's inception_v3" in message and "--faithful" in message and not target.exists()
    assert "average pools count the padding: False (torchvision: True)" in message
    assert "BatchNorm scale" not in message      # gammas of ones are exact: not a difference
    with_background = cli("convert", net["canonical"], target, "--quiet", check=False).stderr
    assert "background class at index 0: True (torchvision: False)" in with_background

    # torchvision's own model takes the converted weights (gamma = 1 where slim has none), strict
    weights = transforms.drop_background(convert.load(net["canonical"]))
    description = weights.meta.description.replace(bn_scale=True)
    tensors = dict(weights.tensors)
    tensors.update({n: np.ones(s, np.float32) for n, s in description.tensors().items() if n not in tensors})
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in layout.state_dict(tensors, description).items()}
    models = torchvision().models
    expected = net["logits"][:, 1:]
    x = torch.from_numpy(np.ascontiguousarray(net["images"].transpose(0, 3, 1, 2)))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    outputs = {}
    for transform_input, images in ((False, x), (True, ((x + 1) / 2 - mean) / std)):
        model = models.inception_v3(weights=None, aux_logits=True, transform_input=transform_input,
                                    init_weights=False).eval()
        assert not model.load_state_dict(state, strict=True).missing_keys
        with torch.no_grad():
            outputs[transform_input] = model(images).numpy()
    cost = relative(expected, outputs[False])
    print(f"\ntorchvision inception_v3 vs tf_slim (count_include_pad): logits relative {cost:.2e}; "
          f"transform_input=True on torch-normalised input vs False on [-1, 1]: "
          f"{relative(outputs[False], outputs[True]):.2e}")
    assert cost > 1e-3                              # it computes something else ...
    assert relative(outputs[False], outputs[True]) <= 1e-5   # ... and transform_input only re-normalises
    # ... and that something is exactly the named difference: the faithful module with torchvision's pools
    pools = torch_net.load_tensors(torch_net.build(description.replace(count_include_pad=True)), tensors)
    with torch.no_grad():
        assert relative(outputs[False], pools(x).numpy()) <= 1e-5


def test_diff_attributes_inception_v3s_aux_head_and_classes(cli):
    out = cli("diff", "inception_v3", "InceptionV3", check=False).stdout
    slim, keras_ = describe("inception_v3"), describe("InceptionV3")
    aux = sum(int(np.prod(s)) for n, s in slim.tensors().items() if n.startswith("aux/"))
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert f"+{aux:,}" in rows["auxiliary logits head"]
    assert f"+{2048 + 1:,}" in rows["classes"]        # one more class: a 2048-feature column and a bias
    # keras.applications.InceptionV3's parameter count as the Keras documentation lists it (23,851,784)
    assert f"B {keras_.parameter_count():,}" in out and keras_.parameter_count() == 23_851_784
    tv = cli("diff", "inception_v3", "torchvision:inception_v3", check=False).stdout
    assert "average pools count the padding" in tv and "BatchNorm scale (gamma)" in tv
    # torchvision's inception_v3 has 27,161,264 parameters (torchvision's Inception_V3_Weights meta num_params)
    assert "B 27,161,264" in tv
