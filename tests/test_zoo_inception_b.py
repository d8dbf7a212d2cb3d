"""Inception v4 and Inception-ResNet-v2 end to end, from a slim checkpoint to Keras and PyTorch.

tf_slim has neither net, so the checkpoint is written by slimcompat's slim net
(random weights, randomized BatchNorm statistics, tf.compat.v1.train.Saver) at
research/slim's 299 px, the size the auxiliary head's 5x5 VALID conv needs.
Then: `convert` to a canonical file; `parity slim-graph keras-faithful`
(which also saves the reference); the faithful PyTorch module against that
reference; keras.applications' InceptionResNetV2 (weights=None) holding the
converted weights against the slim graph's own logits; torchvision (which has
neither net) refused; `diff` against keras.applications' and timm's networks,
their parameter counts as published.

Each net costs a few GFLOP per image: one checkpoint per net, one batch of one
image, every test reading the module's fixture.
"""

import contextlib
import io
import json
import warnings

import numpy as np
import pytest

from slimcompat.arch import describe, ops

pytestmark = pytest.mark.zoo

NETS = ("inception_v4", "inception_resnet_v2")
IMAGE = np.random.default_rng(11).uniform(-1, 1, (1, 299, 299, 3)).astype(np.float32)
# keras.applications docs' table: InceptionResNetV2, 55,873,736 parameters (1000 classes, no aux head)
KERAS_IRV2_PARAMETERS = 55_873_736
# timm's inception_v4 (slim's checkpoint ported: 1000 classes, no aux head): 42,679,816 parameters, its BatchNorms
# holding a gamma (ones) that slim's lack, and its running statistics outside parameters()
TIMM_V4_PARAMETERS = 42_679_816


def _main(*args):
    """(exit code, stdout) of `slimcompat ARGS` in this process (module fixtures have no capsys)."""
    from slimcompat.cli.main import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        code = main([str(a) for a in args])
    return code, out.getvalue()


def _slim_checkpoint(folder, name, seed):
    """(V2 prefix, logits [1, 1001] for IMAGE) of slimcompat's slim net saved by Saver."""
    import tensorflow as tf
    from slimcompat.testing.slim_models import randomize_batch_norm, slim_net
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v1.set_random_seed(seed)
        inputs = v1.placeholder(tf.float32, IMAGE.shape)
        net = slim_net(name, 1001, inputs)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            randomize_batch_norm(session, seed)
            prefix = folder / "model.ckpt"
            v1.train.Saver().save(session, str(prefix), write_meta_graph=False)
            logits = session.run(net, {inputs: IMAGE})
    return prefix, logits.reshape(1, -1)


@pytest.fixture(scope="module", params=NETS)
def zoo(request, module_tmp):
    """One net's checkpoint, its canonical file, and the parity report of slim-graph vs keras-faithful."""
    name = request.param
    folder = module_tmp(name)
    prefix, logits = _slim_checkpoint(folder, name, seed=NETS.index(name) + 1)
    canonical_file = folder / "w.h5"
    assert _main("convert", prefix, canonical_file, "--quiet")[0] == 0
    code, shown = _main("parity", "slim-graph", "keras-faithful", "--weights", canonical_file, "--batch", "1",
                        "--save-reference", folder / "ref.npz", "--json", folder / "parity.json")
    return dict(name=name, folder=folder, prefix=prefix, logits=logits, canonical=canonical_file, parity_code=code,
                parity_shown=shown, parity=json.loads((folder / "parity.json").read_text()))


def test_convert_gives_the_slim_description(zoo):
    from slimcompat.weights import convert, transforms
    weights = convert.load(zoo["canonical"])
    d = weights.meta.description
    assert weights.meta.architecture == zoo["name"] and d.aux_logits
    assert weights.meta.num_classes == 1001 and weights.meta.background_class
    assert weights.parameter_count == describe(zoo["name"]).parameter_count()
    # without the aux head and the background class: the networks keras.applications and timm publish
    bare = transforms.drop_background(transforms.drop_aux(weights))
    if zoo["name"] == "inception_resnet_v2":
        assert bare.parameter_count == KERAS_IRV2_PARAMETERS
    else:
        gammas = sum(op.channels for op in bare.meta.description.layers() if isinstance(op, ops.BatchNorm))
        trainable = sum(v.size for n, v in bare.tensors.items() if not n.endswith(("moving_mean", "moving_variance")))
        assert trainable + gammas == TIMM_V4_PARAMETERS
    # class 0 left out, the rest as they were
    assert np.array_equal(bare.tensors["logits/kernel"], weights.tensors["logits/kernel"][:, 1:])
    assert np.array_equal(bare.tensors["logits/bias"], weights.tensors["logits/bias"][1:])
    assert not any(n.startswith("aux/") for n in bare.tensors) and bare.meta.num_classes == 1000
    assert transforms.drop_background(weights).tensors["aux/logits/kernel"].shape == (768, 1000)


def test_parity_slim_graph_keras_faithful_passes_at_299(zoo):
    report = zoo["parity"]
    assert zoo["parity_code"] == 0 and report["verdict"] == "pass", zoo["parity_shown"][-3000:]
    ends = {e["endpoint"]: e for e in report["endpoints"]}
    assert {"aux_logits", "logits", "pooled"} <= set(ends) and all(e["within"] for e in ends.values())
    assert ends["logits"]["shape_a"] == [1, 1001] and ends["aux_logits"]["shape_b"] == [1, 1001]
    assert report["names"]["ok"] and report["names"]["matched"] == len(describe(zoo["name"]).tensors())


def test_faithful_pytorch_module_passes_against_the_reference(zoo, cli):
    torch_file = zoo["folder"] / "w.safetensors"
    cli("convert", zoo["canonical"], torch_file, "--faithful", "--quiet")
    out = cli("parity", "torch", "--reference", zoo["folder"] / "ref.npz", "--weights", torch_file,
              "--json", zoo["folder"] / "torch.json")
    report = json.loads((zoo["folder"] / "torch.json").read_text())
    assert report["verdict"] == "pass" and "PASS" in out.stdout
    assert {e["endpoint"] for e in report["endpoints"]} >= {"aux_logits", "logits"}


def test_torchvision_has_neither_net(zoo, cli):
    out = cli("convert", zoo["canonical"], zoo["folder"] / "tv.safetensors", check=False)
    assert out.returncode != 0 and not (zoo["folder"] / "tv.safetensors").exists()
    assert f"torchvision has no {zoo['name']}" in out.stderr and "--faithful" in out.stderr


def test_keras_applications_holds_the_converted_weights(zoo, cli):
    """The traps are refused one by one (background class, aux head), then the stock model computes slim's logits."""
    import keras
    from slimcompat.errors import Refusal
    from slimcompat.weights import convert, keras_io, transforms
    target = zoo["folder"] / "k.weights.h5"
    if zoo["name"] == "inception_v4":
        with pytest.raises(Refusal, match="keras.applications has no inception_v4"):
            keras_io.to_keras_model(convert.load(zoo["canonical"]), faithful=False)
        return
    refused = cli("convert", zoo["canonical"], target, check=False)
    assert refused.returncode != 0 and "--drop-background" in refused.stderr
    refused = cli("convert", zoo["canonical"], target, "--drop-background", check=False)
    assert refused.returncode != 0 and "auxiliary head" in refused.stderr and "--drop-aux" in refused.stderr
    assert not target.exists()
    cli("convert", zoo["canonical"], target, "--drop-background", "--drop-aux", "--quiet")
    expected = zoo["logits"][:, 1:]
    keras.backend.clear_session()     # keras.applications numbers its unnamed layers from a fresh session
    model = keras.applications.InceptionResNetV2(weights=None, classifier_activation=None)
    model.load_weights(target)
    got = np.asarray(model(IMAGE))
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()
    # the Python API, in a session that has numbered other layers since
    keras.layers.Conv2D(1, 1)
    weights = transforms.drop_background(transforms.drop_aux(convert.load(zoo["canonical"])))
    stock = keras_io.to_keras_model(weights, faithful=False)
    assert np.array_equal(np.asarray(stock(IMAGE)), got)
    with pytest.raises(Refusal, match="auxiliary head"):
        keras_io.to_keras_model(transforms.drop_background(convert.load(zoo["canonical"])), faithful=False)


def test_diff_attributes_parameters_and_multiply_adds(zoo, cli):
    other = "InceptionResNetV2" if zoo["name"] == "inception_resnet_v2" else "timm:inception_v4"
    assert cli("diff", zoo["canonical"], other, "--json", zoo["folder"] / "diff.json", check=False).returncode == 1
    report = json.loads((zoo["folder"] / "diff.json").read_text())
    rows = {r["knob"]: r for r in report["rows"]}
    assert set(rows) >= {"aux_logits", "num_classes"}
    # one class more: a row of the 1536-feature logits kernel and one bias
    assert (rows["num_classes"]["params"], rows["num_classes"]["macs"]) == (1536 + 1, 1536)
    # the aux head: its convs and BatchNorms (beta and statistics, no gamma) and 1001-class logits; 1x1 conv on
    # the 5x5 pooled map, 5x5 conv to 1x1, the classifier
    aux = next(op for op in describe(zoo["name"]).plan() if isinstance(op, ops.Aux))
    convs = [op for op in ops.walk(aux.ops) if isinstance(op, ops.Conv)]
    features = convs[0].in_channels
    assert [(c.in_channels, c.filters, c.size) for c in convs] == [(features, 128, (1, 1)), (128, 768, (5, 5))]
    params = features * 128 + 3 * 128 + 25 * 128 * 768 + 3 * 768 + 768 * 1001 + 1001
    macs = 25 * features * 128 + 25 * 128 * 768 + 768 * 1001
    assert (rows["aux_logits"]["params"], rows["aux_logits"]["macs"]) == (params, macs)
    assert rows["aux_logits"]["units"] == ["aux"] and rows["aux_logits"]["outputs"] == "from aux_logits"
    published = KERAS_IRV2_PARAMETERS if other == "InceptionResNetV2" else None
    if published:
        assert report["parameters"]["b"] == published
        assert report["parameters"]["difference"] == sum(r["params"] for r in report["rows"]) == params + 1537
