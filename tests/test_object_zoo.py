"""TF-format checkpoints of tf.keras 2.x keras.applications models (`save_weights('x.ckpt')`) read without the code.

References: tf_keras' own keras.applications models built with weights=None at
small sizes, every variable (BatchNorm moving statistics included) set to seeded
random values before saving; the same model saved by tf_keras as a Keras .h5
file, read by slimcompat's Keras reader, is the independent second reading.
The object graph records each variable's name (`conv_dw_1/depthwise_kernel`),
so these files are read by names; a copy with those names replaced by
meaningless ones is read by the object tree and shapes.
"""

import numpy as np
import pytest

from slimcompat.errors import SlimcompatError
from slimcompat.weights import canonical, convert, object_tree

# name: (constructor arguments, (family, knobs the arguments fix))
MODELS = {
    "MobileNet": (dict(alpha=0.25, input_shape=(128, 128, 3)), ("mobilenet_v1", dict(width=0.25, num_classes=1000))),
    "MobileNetV2": (dict(alpha=0.35, input_shape=(96, 96, 3)), ("mobilenet_v2", dict(width=0.35, num_classes=1000))),
    "VGG16": (dict(include_top=False, input_shape=(32, 32, 3)), ("vgg", dict(depth=16, num_classes=None))),
    "InceptionV3": (dict(input_shape=(75, 75, 3)), ("inception_v3", dict(num_classes=1000))),
}
FAST = ("MobileNet", "MobileNetV2", "VGG16")
SLOW = ("InceptionV3",)


def _all(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


@pytest.fixture(scope="module")
def saved(module_tmp):
    """saved(name) -> (checkpoint prefix, .h5 path, {variable name: value}) of keras.applications' `name`."""
    import tf_keras
    root, cache = module_tmp("object_zoo"), {}

    def build(name):
        if name not in cache:
            tf_keras.backend.clear_session()        # InceptionV3's unnamed layers numbered from conv2d
            arguments = MODELS[name][0]
            model = getattr(tf_keras.applications, name)(weights=None, **arguments)
            rng = np.random.default_rng(len(name))
            for v in model.weights:
                value = rng.uniform(0.5, 2.0, v.shape) if "moving_variance" in v.name else rng.normal(0, 1, v.shape)
                v.assign(value.astype(np.float32))
            model.save_weights(str(root / f"{name}.ckpt"))
            model.save_weights(str(root / f"{name}.h5"))
            cache[name] = (root / f"{name}.ckpt", root / f"{name}.h5",
                           {v.name.split(":")[0]: v.numpy() for v in model.weights})
        return cache[name]
    return build


def _rewrite(prefix, out, change):
    """A copy of the checkpoint at `prefix`: change(object graph, {key: value}) edits both before it is saved."""
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2
    reader = tf.train.load_checkpoint(str(prefix))
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    values = {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if k != "_CHECKPOINTABLE_OBJECT_GRAPH"}
    change(graph, values)
    keys = ["_CHECKPOINTABLE_OBJECT_GRAPH", *values]
    tf.raw_ops.SaveV2(prefix=str(out), tensor_names=keys, shape_and_slices=[""] * len(keys),
                      tensors=[tf.constant(graph.SerializeToString())] + [tf.constant(values[k]) for k in values])
    return out


def _attributes(graph):
    return [a for node in graph.nodes for a in node.attributes if a.name == "VARIABLE_VALUE"]


@pytest.mark.parametrize("name", _all(MODELS))
def test_convert_reads_a_keras_applications_checkpoint_by_its_names(saved, cli, tmp_path, name):
    prefix, h5, variables = saved(name)
    cli("convert", prefix, tmp_path / "out.h5", "--quiet")
    out = canonical.read(tmp_path / "out.h5")
    family, knobs = MODELS[name][1]
    assert out.meta.description.family == family
    assert all(getattr(out.meta.description, k) == v for k, v in knobs.items())
    read = object_tree.read(prefix)
    assert sorted(read.sources.values()) == sorted(variables)            # every variable once
    for canonical_name, source in read.sources.items():
        value = out.tensors[canonical_name]
        assert np.array_equal(value, variables[source].reshape(value.shape)), canonical_name
    keras_read = convert.load(h5)
    assert keras_read.meta.description == out.meta.description
    assert set(keras_read.tensors) == set(out.tensors)
    assert all(np.array_equal(keras_read.tensors[n], out.tensors[n]) for n in out.tensors)


@pytest.mark.parametrize("name", FAST)
def test_meaningless_names_are_read_by_the_tree_given_the_description(saved, tmp_path, name):
    prefix, _, variables = saved(name)

    def rename(graph, values):
        for i, attribute in enumerate(_attributes(graph)):
            attribute.full_name = f"model/layer_{i}/{attribute.full_name.rsplit('/', 1)[-1]}"
    anonymous = _rewrite(prefix, tmp_path / "anonymous.ckpt", rename)
    by_names = object_tree.read(prefix)
    family = MODELS[name][1][0]
    with pytest.raises(SlimcompatError, match=f"fit {by_names.meta.description.name} .*does not record"):
        object_tree.read(anonymous)
    by_tree = object_tree.read(anonymous, arch=by_names.meta.description)
    assert by_tree.meta.description.family == family and set(by_tree.tensors) == set(by_names.tensors)
    assert all(np.array_equal(by_tree.tensors[n], by_names.tensors[n]) for n in by_names.tensors)


@pytest.mark.slow
def test_inception_v3s_parallel_twins_in_a_flat_tree_are_refused_not_guessed(saved, tmp_path):
    prefix, _, _ = saved("InceptionV3")

    def rename(graph, values):
        for i, attribute in enumerate(_attributes(graph)):
            attribute.full_name = f"layer_{i}/{attribute.full_name.rsplit('/', 1)[-1]}"
    anonymous = _rewrite(prefix, tmp_path / "anonymous.ckpt", rename)
    with pytest.raises(SlimcompatError, match="parallel paths with kernels of one shape .*give the model's code") \
            as refused:
        object_tree.read(anonymous, arch="InceptionV3")
    assert "\n" not in str(refused.value)


def _reshape(target):
    def change(graph, values):
        key = next(a.checkpoint_key for a in _attributes(graph) if a.full_name == target)
        values[key] = np.zeros((*values[key].shape[:-1], values[key].shape[-1] + 1), values[key].dtype)
    return change


def _drop(layer):
    def change(graph, values):
        for a in _attributes(graph):
            if a.full_name.startswith(layer + "/"):
                del values[a.checkpoint_key]
    return change


@pytest.mark.parametrize("change,named", [
    (_reshape("conv_pw_3/kernel"), "conv_pw_3/kernel"),
    (_drop("conv_pw_13_bn"), "conv_pw_13_bn/moving_mean"),
])
def test_a_corrupted_checkpoint_is_one_line_naming_its_own_variable(saved, cli, tmp_path, change, named):
    prefix, _, _ = saved("MobileNet")
    bad = _rewrite(prefix, tmp_path / "bad.ckpt", change)
    out = cli("convert", bad, tmp_path / "out.h5", check=False)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and named in lines[0], out.stderr
    assert not (tmp_path / "out.h5").exists()
