"""Every family end to end: slim graph, eager layer and Keras agree; slim checkpoints round-trip; variants stay.

For resnet_v1_18, resnet_v2_34, resnext_50_32x4d, inception10 and seed 004's ELU resnet_v1_50, on a
seeded 2 x 64 x 64 batch: the slim net in a TF1 graph against the faithful Keras 3 model (every
endpoint within 1e-5) and against the same net as an eager layer (bit-identical); a real slim
checkpoint (Saver) -> canonical -> slim checkpoint, every tensor bit-identical, and the model the
canonical file alone rebuilds gives the slim graph's outputs.
"""

import warnings

import numpy as np
import pytest

from conftest import slimcompat
from fixtures.slim_models import build_slim_checkpoint
from fixtures.weights import random_weights
from slimcompat.arch import describe, layout
from slimcompat.parity import check, inputs
from slimcompat.weights import canonical, convert, keras_io

pytestmark = pytest.mark.slow   # a graph, a layer and a model per family: default tier only

SHAPE = (2, 64, 64, 3)
IMAGES = np.random.default_rng(4).uniform(-1, 1, SHAPE).astype(np.float32)
ELU = {"activation": "elu", "bn_epsilon": 1e-3, "l2": 1e-4}
CASES = [("resnet_v1_18", {}), ("resnet_v2_34", {}), ("resnext_50_32x4d", {}), ("inception10", {}),
         ("resnet_v1_50", ELU)]
IDS = ["resnet_v1_18", "resnet_v2_34", "resnext_50_32x4d", "inception10", "resnet_v1_50-elu"]


def _batch():
    return inputs.random_batch(SHAPE, seed=1, pixels=False)


@pytest.mark.parametrize("name,knobs", CASES, ids=IDS)
def test_slim_graph_keras_and_eager_agree_at_every_endpoint(name, knobs):
    weights = random_weights(name, **knobs)
    faithful = check.parity("slim-graph", "keras-faithful", weights, _batch())
    worst = max(r["relative"] for r in faithful["endpoints"])
    print(f"\n{IDS[CASES.index((name, knobs))]}: slim graph vs faithful Keras, worst endpoint {worst:.2e}")
    assert faithful["names"]["ok"] and faithful["ok"] and worst <= 1e-5
    assert [r["endpoint"] for r in faithful["endpoints"]] == weights.meta.description.endpoint_names()
    eager = check.parity("slim-graph", "slim-eager", weights, _batch())
    assert eager["ok"] and all(r["identical"] for r in eager["endpoints"]), \
        [(r["endpoint"], r["max_abs"]) for r in eager["endpoints"] if not r["identical"]]


@pytest.mark.parametrize("name,knobs", CASES, ids=IDS)
def test_slim_checkpoint_round_trips_and_the_file_alone_rebuilds_the_model(name, knobs, tmp_path):
    description = describe(name, **knobs)
    (tmp_path / "src").mkdir()
    paths, slim_logits = build_slim_checkpoint(tmp_path / "src", description, description.num_classes,
                                               seed=2, images=IMAGES)
    variant = [] if not knobs else ["--arch", name, "--variant", ",".join(f"{k}={v}" for k, v in knobs.items())]
    slimcompat("convert", paths["V2"], tmp_path / "w.h5", "--quiet", *variant)
    weights = canonical.read(tmp_path / "w.h5")
    assert weights.meta.description == description
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # a checkpoint cannot record the variant: said, not an error
        convert.save(tmp_path / "back.ckpt", weights, "slim")
    import tensorflow as tf
    a, b = tf.train.load_checkpoint(str(paths["V2"])), tf.train.load_checkpoint(str(tmp_path / "back.ckpt"))
    names = a.get_variable_to_shape_map()
    assert names == b.get_variable_to_shape_map() and len(names) == len(description.tensors())
    assert all(np.array_equal(a.get_tensor(n), b.get_tensor(n)) for n in names)
    model = keras_io.to_keras_model(canonical.read(tmp_path / "w.h5"), input_shape=IMAGES.shape[1:])
    logits = np.asarray(model(IMAGES, training=False)).reshape(len(IMAGES), -1)
    expected = slim_logits.reshape(len(IMAGES), -1)
    if description.softmax:   # the Keras model ends as its author wrote it; slim nets return logits
        expected = np.exp(expected - expected.max(-1, keepdims=True))
        expected /= expected.sum(-1, keepdims=True)
    assert np.abs(logits - expected).max() <= 1e-5 * np.abs(expected).max()


def test_an_elu_keras_model_converts_with_its_activation(tmp_path):
    """Seed 004's ELU ResNet50 saved by Keras as .keras (no slimcompat metadata): the config says ELU."""
    from slimcompat.nets import keras_net
    description = describe("keras1:resnet_v1_50", activation="elu", softmax=True)
    model = keras_net.build(description, naming="keras1", input_shape=(64, 64, 3))
    keras_net.set_canonical_weights(model, description, "keras1", random_weights(description).tensors)
    model.save(tmp_path / "elu.keras")
    slimcompat("convert", tmp_path / "elu.keras", tmp_path / "elu.h5", "--quiet")
    weights = canonical.read(tmp_path / "elu.h5")
    assert weights.meta.description.activation == "elu" and weights.meta.description == description
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras_io.write(tmp_path / "ours.weights.h5", weights)
    assert convert.load(tmp_path / "ours.weights.h5").meta.description == description


def test_elu_against_relu_fails_and_names_the_activation():
    elu = random_weights("resnet_v1_50", activation="elu")
    relu = canonical.Weights(elu.tensors, elu.meta.replace(activation="relu"), elu.sources)
    report = check.parity("keras-faithful", "keras-faithful", elu, _batch(), weights_b=relu)
    causes = {f["cause"]: f for f in report["diagnosis"]}
    assert not report["ok"] and report["first_divergence"] == "stem"
    assert causes["activation"]["status"] == "found" and causes["activation"]["label"] == "activation"


def test_the_group_transform_is_exact_both_ways():
    kernel = random_weights("resnext_50_32x4d").tensors["stage2/unit1/conv2/kernel"]
    parts = layout.split_groups(kernel, 32)
    assert len(parts) == 32 and parts[0].shape == (3, 3, 8, 8)
    assert np.array_equal(layout.merge_groups(parts), kernel)


def test_per_group_convs_compute_what_one_grouped_conv_does():
    """Seed 002's layout (32 Conv2D per grouped layer) with the same canonical weights: same outputs."""
    from slimcompat.nets import keras_net
    weights = random_weights("resnext_50_32x4d")
    description = weights.meta.description
    outputs = []
    for grouped in keras_net.GROUPED:
        model = keras_net.build(description, input_shape=SHAPE[1:], grouped=grouped)
        keras_net.set_canonical_weights(model, description, "keras", weights.tensors)
        got = keras_net.canonical_weights(model, description)
        assert all(np.array_equal(got[n], weights.tensors[n]) for n in weights.tensors)
        outputs.append(np.asarray(model(IMAGES, training=False)))
    assert np.abs(outputs[0] - outputs[1]).max() <= 1e-5 * np.abs(outputs[0]).max()


@pytest.mark.parametrize("family", ["resnet_v1", "resnet_v2"])
def test_our_slim_net_is_tf_slims_own_for_its_released_networks(family, tmp_path):
    """slimcompat's slim net of resnet_v{1,2}_50 is op for op tf_slim.nets': same variables, same outputs."""
    from fixtures.slim_models import slim_outputs
    paths, theirs = build_slim_checkpoint(tmp_path, family, 1000, seed=3, images=IMAGES)
    ours, points = slim_outputs(f"{family}_50", 1000, paths["V2"], images=IMAGES, end_points=True)
    _, their_points = slim_outputs(family, 1000, paths["V2"], images=IMAGES, end_points=True)
    assert np.array_equal(ours, theirs)
    assert set(points) == set(their_points) | {f"{family}_50/stem", f"{family}_50/pool5"}
    assert all(np.array_equal(points[k], their_points[k]) for k in their_points)


@pytest.mark.parametrize("name", ["resnet_v1_18", "resnext_50_32x4d", "inception10"])
@pytest.mark.parametrize("suffix", [".keras", ".weights.h5", ".h5"])
def test_keras_files_of_every_family_round_trip_bit_exactly(name, suffix, tmp_path):
    weights = random_weights(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert.save(tmp_path / f"m{suffix}", weights, "keras")
    back = convert.load(tmp_path / f"m{suffix}")
    assert back.meta.description == weights.meta.description and back.meta.input == weights.meta.input
    assert all(np.array_equal(back.tensors[n], weights.tensors[n]) for n in weights.tensors)


@pytest.mark.parametrize("native", [True, False])
def test_grouped_conv_per_group_is_exact_against_the_native_one(monkeypatch, native):
    """Where this machine's fused kernels refuse groups, slim nets convolve group by group: same numbers."""
    import tensorflow as tf
    from slimcompat.nets import grouped
    grouped.native_runs.cache_clear()
    monkeypatch.setattr(grouped, "native_runs", lambda: native)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 9, 32), dtype=np.float32)
    kernel = rng.standard_normal((3, 3, 4, 64), dtype=np.float32)
    for stride in (1, 2):
        got = grouped.conv2d(tf.constant(x), tf.constant(kernel), 8, [1, stride, stride, 1], "SAME").numpy()
        want = tf.nn.conv2d(x, kernel, [1, stride, stride, 1], "SAME").numpy()  # eager: TensorFlow's own, unfused
        np.testing.assert_array_equal(got, want)
