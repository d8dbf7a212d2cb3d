"""TF2-native slim: the eager layer loads, trains, exports and distributes like the TF1 graph it replaces.

Run with `-s` to print the measured figures (TF1 vs eager SGD losses, SavedModel and
MirroredStrategy differences).
"""

import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

import slimcompat  # noqa: F401  (repairs tf_slim first)
import tensorflow as tf
import tf_keras
import tf_slim as slim
from conftest import run_python, slimcompat as slimcompat_cli
from fixtures.slim_models import INPUT, build_slim_checkpoint, slim_outputs

import slimcompat.eager as se
from slimcompat.eager.graph import GraphNet
from slimcompat.errors import MappingError, SlimcompatError
from slimcompat.weights import convert

pytestmark = pytest.mark.slow   # ResNet-50 graphs and layers, fresh interpreters: default tier only
v1 = tf.compat.v1
TESTS = pathlib.Path(__file__).resolve().parent
CLASSES = 10


def small_net(images, num_classes=5, is_training=True, scope="small"):
    """A user's own slim net: two conv+BatchNorm layers and a classifier, defaults from an arg_scope."""
    with v1.variable_scope(scope), slim.arg_scope([slim.batch_norm], is_training=is_training):
        net = slim.conv2d(images, 8, [3, 3], stride=2, scope="conv1")
        net = slim.conv2d(net, 16, [3, 3], stride=2, scope="conv2")
        net = tf.reduce_mean(net, [1, 2], name="pool")
        logits = slim.fully_connected(net, num_classes, activation_fn=None, normalizer_fn=None, scope="logits")
    return logits, {"pool": net, "logits": logits}


def small_scope(weight_decay=1e-3):
    bn = {"decay": 0.9, "epsilon": 1e-5, "scale": True, "updates_collections": v1.GraphKeys.UPDATE_OPS}
    with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_regularizer=slim.l2_regularizer(weight_decay),
                        normalizer_fn=slim.batch_norm, normalizer_params=bn):
        with slim.arg_scope([slim.batch_norm], **bn) as scope:
            return scope


def small_layer():
    return se.SlimLayer(small_net, arg_scope=small_scope, num_classes=5)


def _data(shape, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape).astype(np.float32), rng.integers(0, classes, shape[0])


def _close(a, b, rel=1e-5):
    return np.abs(a - b).max() <= rel * max(np.abs(b).max(), 1.0)


# ---------------------------------------------------------------- loading and naming

@pytest.fixture(scope="module")
def slim_v2(module_tmp):
    """A real slim resnet_v2_50 checkpoint (random weights, distinct BatchNorm values) and its TF1 outputs."""
    folder = module_tmp("slim_v2")
    paths, logits = build_slim_checkpoint(folder, "resnet_v2", CLASSES, seed=3)
    return paths, np.squeeze(logits, (1, 2))


@pytest.fixture(scope="module")
def v2_layer():
    return se.resnet_layer("resnet_v2_50", CLASSES)


def test_variables_carry_the_tf1_checkpoint_names(slim_v2, v2_layer):
    names = set(tf.train.load_checkpoint(str(slim_v2[0]["V2"])).get_variable_to_shape_map())
    ours = set(se.slim_variables(v2_layer))
    assert ours <= names and len(ours) == 272
    assert "resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights" in ours


@pytest.mark.parametrize("kind", ["V2", "V1", "canonical"])
def test_slim_checkpoint_and_canonical_file_load_and_match_tf1(kind, slim_v2, v2_layer, tmp_path):
    paths, expected = slim_v2
    source = paths.get(kind)
    if kind == "canonical":
        source = convert.save(tmp_path / "w.h5", convert.load(paths["V2"]))
    se.load_weights(v2_layer, source)
    logits, points = v2_layer.infer(INPUT)
    print(f"\n{kind} -> eager layer vs TF1 graph: max |diff| {np.abs(logits - expected).max():.2e} "
          f"(max |logit| {np.abs(expected).max():.1f})")
    assert _close(logits, expected)
    assert "resnet_v2_50/block4" in points and points["predictions"].shape == (1, 1, 1, CLASSES)


_SEED_AS_LAYER = """
import sys, numpy as np
import slimcompat.legacy
slimcompat.legacy.enable(graph_mode=False)          # TF1 imports served, TF2 eager kept
from slimcompat.examples import legacy_resnet_v2 as seed
import slimcompat.eager as se
import tensorflow as tf
assert tf.executing_eagerly()
layer = se.SlimLayer(seed.resnet_v2_50, arg_scope=lambda: seed.resnet_arg_scope(is_training=False),
                     training_arg=None, num_classes=1000)
images = np.load(sys.argv[2])
layer(images[:1])
se.load_checkpoint(layer, sys.argv[1])
np.save(sys.argv[3], np.squeeze(layer.infer(images, end_points=False), (1, 2)))
print(len(layer.weights))
"""


def test_the_seed_programs_own_model_function_runs_as_an_eager_layer(tmp_path):
    """The example's TF1 code (its own Block, bottleneck, arg scope), unmodified, as a TF2 layer."""
    ckpt = tmp_path / "seed.ckpt"
    run_python("-m", "slimcompat", "run", TESTS.parent / "slimcompat" / "examples" / "legacy_resnet_v2.py",
               "--batch_size=2", "--image_size=64", "--num_batches=0", "--seed=5", f"--save_checkpoint={ckpt}",
               f"--save_input={tmp_path / 'x.npy'}", f"--save_logits={tmp_path / 'graph.npy'}")
    out = run_python("-c", _SEED_AS_LAYER, ckpt, tmp_path / "x.npy", tmp_path / "eager.npy")
    graph, eager = np.load(tmp_path / "graph.npy"), np.load(tmp_path / "eager.npy")
    print(f"\nseed program as eager layer vs the program under `slimcompat run`: max |diff| "
          f"{np.abs(graph - eager).max():.2e} (max |logit| {np.abs(graph).max():.1f})")
    assert out.stdout.split()[-1] == "272"
    assert graph.shape == eager.shape == (2, 1000) and _close(eager, graph, rel=1e-6)


def test_end_points_match_the_tf1_graph(slim_v2, v2_layer):
    se.load_weights(v2_layer, slim_v2[0]["V2"])
    _, theirs = slim_outputs("resnet_v2", CLASSES, slim_v2[0]["V2"], end_points=True)
    _, ours = v2_layer.infer(INPUT)
    assert set(ours) == set(theirs) | {"resnet_v2_50/stem", "resnet_v2_50/pool5"}
    worst = max(np.abs(ours[k] - theirs[k]).max() / max(np.abs(theirs[k]).max(), 1.0) for k in theirs)
    assert worst < 1e-5


def test_load_is_all_or_nothing(slim_v2, v2_layer):
    weights = convert.load(slim_v2[0]["V2"])
    se.load_weights(v2_layer, weights)
    before = {n: v.numpy() for n, v in se.slim_variables(v2_layer).items()}
    other = se.resnet_layer("resnet_v2_50", CLASSES + 1)
    with pytest.raises(MappingError, match="logits"):
        se.load_weights(other, weights)
    broken = dict(weights.tensors)
    broken["stage4/unit3/conv3/kernel"] = broken["stage4/unit3/conv3/kernel"][..., :-1]
    with pytest.raises(MappingError, match="stage4/unit3/conv3/kernel expected"):
        se.load_weights(v2_layer, convert.canonical.Weights(broken, weights.meta))
    assert all(np.array_equal(v.numpy(), before[n]) for n, v in se.slim_variables(v2_layer).items())


def test_user_net_loads_tf1_checkpoint_by_names(tmp_path):
    layer = small_layer()
    x, _ = _data((2, 16, 16, 3))
    layer(x)
    with pytest.raises(SlimcompatError, match="not a layer of a described network"):
        se.load_weights(layer, tmp_path / "x.h5")
    prefix = se.save_slim_checkpoint(layer, tmp_path / "small.ckpt")
    with pytest.raises(SlimcompatError, match="already exists"):
        se.save_slim_checkpoint(layer, prefix)
    fresh = small_layer()
    fresh(x)
    se.load_checkpoint(fresh, prefix)
    assert _close(fresh.infer(x, end_points=False), layer.infer(x, end_points=False), 0)
    wider = se.SlimLayer(small_net, arg_scope=small_scope, num_classes=6)
    wider(x)
    with pytest.raises(MappingError, match="small/logits/weights expected"):
        se.load_checkpoint(wider, prefix)


def test_checkpoint_written_back_restores_into_the_tf1_graph(v2_layer, tmp_path):
    for variable in v2_layer.trainable_variables[::7]:
        variable.assign(variable * 1.5)
    prefix = se.save_slim_checkpoint(v2_layer, tmp_path / "back.ckpt")
    tf1 = np.squeeze(slim_outputs("resnet_v2", CLASSES, prefix), (1, 2))
    assert _close(v2_layer.infer(INPUT, end_points=False), tf1)


# ---------------------------------------------------------------- training

def _tf1_sgd(layer, x, y, lr, steps):
    """Losses of `steps` SGD steps in the TF1 graph (UPDATE_OPS as control dependencies), and the graph."""
    net = GraphNet(layer, x.shape, training=True)
    with net.graph.as_default():
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=net.outputs))
        loss += tf.add_n(v1.losses.get_regularization_losses())
        with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
            train = v1.train.GradientDescentOptimizer(lr).minimize(loss)
    losses = [float(net.run([loss, train], x)[0]) for _ in range(steps)]
    values = dict(zip([v.op.name for v in net.graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES)],
                      net.session.run(net.graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES))))
    return losses, values


def _eager_sgd(layer, x, y, lr, steps):
    optimizer = tf_keras.optimizers.SGD(lr)

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            logits = layer(images, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            loss += tf.add_n(layer.losses)
        grads = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply_gradients(zip(grads, layer.trainable_variables))
        return loss

    return [float(step(x)) for _ in range(steps)]


def _compare_sgd(layer, x, y, lr, steps, label):
    layer(x[:1])
    tf1_losses, tf1_values = _tf1_sgd(layer, x, y, lr, steps)
    eager_losses = _eager_sgd(layer, x, y, lr, steps)
    diff = np.abs(np.array(tf1_losses) - eager_losses).max()
    variables = se.slim_variables(layer)
    worst = max(np.abs(v.numpy() - tf1_values[n]).max() / max(np.abs(tf1_values[n]).max(), 1.0)
                for n, v in variables.items())
    print(f"\n{label}: TF1 losses {np.round(tf1_losses, 6).tolist()}\n{label}: eager losses "
          f"{np.round(eager_losses, 6).tolist()}\n{label}: max |loss diff| {diff:.2e}, "
          f"max relative variable diff after {steps} steps {worst:.2e}")
    return tf1_losses, eager_losses, worst


def test_sgd_steps_match_tf1_graph_user_net():
    layer = small_layer()
    x, y = _data((4, 16, 16, 3))
    layer(x[:1])
    initial = {n: v.numpy() for n, v in se.slim_variables(layer).items()}
    tf1, eager, worst = _compare_sgd(layer, x, y, lr=0.1, steps=5, label="small net")
    assert np.allclose(tf1, eager, rtol=1e-5, atol=1e-6)
    assert eager[-1] < eager[0]
    assert worst < 1e-5
    moving = "small/conv2/BatchNorm/moving_mean"
    assert not np.allclose(se.slim_variables(layer)[moving].numpy(), initial[moving])
    assert len(layer.losses) == 3  # one L2 term per weights tensor: conv1, conv2, logits


def test_fit_takes_the_same_sgd_steps_as_the_tf1_graph():
    """Keras `fit` (compiled loss + the slim regularizers in model.losses) against the TF1 graph's steps."""
    layer = small_layer()
    x, y = _data((4, 16, 16, 3))
    layer(x[:1])
    tf1_losses, tf1_values = _tf1_sgd(layer, x, y, 0.1, 5)
    model = se.keras_model(layer, x.shape[1:])
    model.compile(tf_keras.optimizers.SGD(0.1), tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fit_losses = model.fit(x, y, batch_size=len(x), epochs=5, shuffle=False, verbose=0).history["loss"]
    diff = np.abs(np.array(tf1_losses) - fit_losses).max()
    print(f"\nsmall net, fit: losses {np.round(fit_losses, 6).tolist()}; max |loss diff| to TF1 {diff:.2e}")
    assert np.allclose(tf1_losses, fit_losses, rtol=1e-5, atol=1e-6)
    for name, variable in se.slim_variables(layer).items():
        assert _close(variable.numpy(), tf1_values[name]), name


def test_sgd_steps_match_tf1_graph_resnet_v2_50():
    layer = se.resnet_layer("resnet_v2_50", 5)
    x, y = _data((4, 32, 32, 3))
    tf1, eager, worst = _compare_sgd(layer, x, y, lr=1e-3, steps=3, label="resnet_v2_50")
    assert np.allclose(tf1, eager, rtol=1e-4)
    assert worst < 1e-3


def test_fit_updates_batch_norm_and_counts_regularizers():
    layer = small_layer()
    model = se.keras_model(layer, (16, 16, 3))
    x, y = _data((8, 16, 16, 3))
    moving = se.slim_variables(layer)["small/conv1/BatchNorm/moving_variance"]
    before = moving.numpy()
    assert len(model.losses) == 3
    regularization = float(tf.add_n(model.losses))
    model.compile(tf_keras.optimizers.SGD(0.05), tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False).history["loss"]
    assert history[-1] < history[0]
    assert not np.allclose(moving.numpy(), before)
    assert float(tf.add_n(model.losses)) != regularization
    assert {v.name for v in model.weights} == {v.name for v in layer.weights}


def test_inference_call_changes_no_state():
    layer = small_layer()
    x, _ = _data((4, 16, 16, 3))
    first = layer.infer(x, end_points=False)
    state = [v.numpy() for v in layer.weights]
    assert np.array_equal(layer.infer(x, end_points=False), first)
    assert all(np.array_equal(v.numpy(), s) for v, s in zip(layer.weights, state))


# ---------------------------------------------------------------- export

_RELOAD = """
import sys, numpy as np, tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
print(sorted(serve.structured_outputs))
np.save(sys.argv[3], serve(images=tf.constant(np.load(sys.argv[2])))["output"].numpy())
"""


def test_saved_model_reloads_in_a_fresh_process_with_identical_outputs(v2_layer, tmp_path):
    model = se.keras_model(v2_layer, (64, 64, 3))
    se.export_saved_model(model, tmp_path / "saved")
    images = np.random.default_rng(5).uniform(-1, 1, (3, 64, 64, 3)).astype(np.float32)
    np.save(tmp_path / "in.npy", images)
    proc = run_python("-c", _RELOAD, tmp_path / "saved", tmp_path / "in.npy", tmp_path / "out.npy")
    assert "['output']" in proc.stdout
    reloaded = np.load(tmp_path / "out.npy")
    diff = np.abs(reloaded - v2_layer.infer(images, end_points=False)).max()
    print(f"\nSavedModel reloaded vs eager layer (tf.function): max |diff| {diff:.2e}")
    assert reloaded.shape == (3, CLASSES) and diff <= 1e-6 * np.abs(reloaded).max()


def test_export_of_a_bare_layer_needs_a_shape():
    with pytest.raises(SlimcompatError, match="input_shape"):
        se.export_saved_model(small_layer(), "unused")


# ---------------------------------------------------------------- distribution

_MIRRORED = """
import json, sys
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np, tf_keras
sys.path.insert(0, sys.argv[1])
import slimcompat.eager as se
from test_eager import small_layer

half = np.random.default_rng(1).normal(size=(4, 16, 16, 3)).astype(np.float32)
labels = np.random.default_rng(2).integers(0, 5, 4)
# Each replica sees the same half, so its BatchNorm batch statistics equal those of the whole
# batch on one device: slim's batch_norm is per replica, as in TF1 multi-tower training.
x, y = np.concatenate([half, half]), np.concatenate([labels, labels])

def train(strategy):
    with strategy.scope():
        model = se.keras_model(small_layer(), (16, 16, 3))
        model.compile(tf_keras.optimizers.SGD(0.05),
                      tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.set_weights(initial)
    history = model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0).history["loss"]
    return history, {v.name: v.numpy() for v in model.weights}

reference = se.keras_model(small_layer(), (16, 16, 3))
initial = reference.get_weights()
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
one_loss, one = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
two_loss, two = train(mirrored)
print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "one": one_loss, "two": two_loss,
                  "diffs": {n: float(np.abs(one[n] - two[n]).max() / np.abs(one[n]).max()) for n in one},
                  "moved": max(float(np.abs(one[n] - w).max()) for n, w in zip(one, initial)),
                  "names": sorted(one) == sorted(two)}))
"""


def test_mirrored_strategy_on_two_cpus_matches_one_device():
    proc = run_python("-c", _MIRRORED, TESTS)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nMirroredStrategy (2 logical CPUs) vs one device: losses {result['one']} vs {result['two']}")
    print(json.dumps(result["diffs"], indent=0))
    assert result["replicas"] == 2 and result["names"]
    assert result["moved"] > 1e-3
    assert np.allclose(result["one"], result["two"], rtol=1e-5)
    exact = {n: d for n, d in result["diffs"].items() if "moving_variance" not in n}
    assert max(exact.values()) < 1e-5
    # A replica's moving variance takes the unbiased batch variance over its own n = 4*H*W values,
    # one device over 8*H*W: n/(n-1) differs by under 1/63 - 1/127 for conv2's 4x4 maps.
    assert max(result["diffs"].values()) < 2e-3


# ---------------------------------------------------------------- bench CLI

def test_bench_cli_reports_three_paths_side_by_side():
    proc = slimcompat_cli("bench", "--batch", "2", "--image-size", "64", "--steps", "2", "--rounds", "2",
                          "--burn-in", "1", "--json")
    data = json.loads(proc.stdout)
    assert set(data["paths"]) == {"graph", "eager", "keras"} and data["native"] == "keras"
    assert data["flops_per_image"] > 1e8 and data["batch"] == 2 and data["image_size"] == 64
    for name, path in data["paths"].items():
        assert path["timed_steps"] == 4 and path["images_per_sec"] > 0 and path["gflops_per_sec"] > 0
        assert path["max_abs_output_diff_to_eager"] < 1e-3 * max(path["max_abs_output"], 1.0), name
    native = data["paths"][data["native"]]
    for name, path in data["paths"].items():  # each ratio is that path's images/s over the native path's
        assert path["images_per_sec"] == pytest.approx(data["batch"] / path["sec_per_batch_mean"], rel=1e-9)
        assert path["ratio_to_native"] == pytest.approx(path["images_per_sec"] / native["images_per_sec"],
                                                        rel=1e-9), name


def test_bench_cli_refuses_bad_input_in_one_line():
    proc = slimcompat_cli("bench", "--image-size", "8", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == ("slimcompat: error: --image-size must be at least 32 "
                                                    "(five stride-2 steps), found 8")
