"""Slim checkpoints <-> canonical Weights, against checkpoints the real tools wrote.

Every source checkpoint here is saved by `tf.compat.v1.train.Saver` from the
graph tf_slim.nets builds (resnet_*_50 on a 64x64 input, fixed seeds), or, for
the malformed ones, by Saver from such a checkpoint's tensors with one change.
Graphs are built in-process inside `tf.Graph()` contexts.
"""

import hashlib
import os
import shutil

import numpy as np
import pytest

import slimcompat  # noqa: F401  (repairs tf_slim before it is imported)
from conftest import run_python
from fixtures.weights import random_weights
from fixtures.slim_models import INPUT, tf_module, build_slim_checkpoint, slim_net, slim_outputs
from slimcompat.errors import MappingError, SlimcompatError, WeightsError
from slimcompat.weights import canonical, slim_checkpoint
from slimcompat.arch import INPUTS, describe
from slimcompat.weights.metadata import Metadata

pytestmark = pytest.mark.slow   # real ResNet-50 checkpoints: default tier only

CLASSES = {"resnet_v1": 1000, "resnet_v2": 1001}
V2_CONV1 = "resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights"
EMA = "/ExponentialMovingAverage"


def checkpoint_arrays(prefix):
    """{name: array} of every tensor in a checkpoint, via TensorFlow's reader."""
    reader = tf_module().train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def save_arrays(prefix, arrays, version="V2"):
    """A Saver-written checkpoint holding exactly `arrays` ({name: array})."""
    tf = tf_module()
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        feeds, variables = {}, {}
        for i, (name, value) in enumerate(arrays.items()):
            feed = v1.placeholder(tf.as_dtype(value.dtype), value.shape)
            variables[name] = v1.Variable(feed, name=f"v{i}")
            feeds[feed] = value
        with v1.Session() as session:
            session.run([v.initializer for v in variables.values()], feeds)
            v1.train.Saver(variables, write_version=getattr(v1.train.SaverDef, version)).save(
                session, str(prefix), write_meta_graph=False, write_state=False)
    return prefix


@pytest.fixture(scope="module")
def built(fixture_files):
    """{family: (paths, outputs)} of real slim resnet_v1_50 (1000 classes) and resnet_v2_50 (1001), shared."""
    out = {}
    for seed, family in ((0, "resnet_v1"), (3, "resnet_v2")):
        paths = fixture_files.slim_checkpoint(family, CLASSES[family], seed=seed)
        out[family] = paths, slim_outputs(family, CLASSES[family], paths["V2"])
    return out


@pytest.fixture(scope="module")
def v2_arrays(built):
    return checkpoint_arrays(built["resnet_v2"][0]["V2"])


def assert_same_tensors(a, b):
    assert a.tensors.keys() == b.tensors.keys()
    for name in a.tensors:
        assert a.tensors[name].dtype == b.tensors[name].dtype, name
        assert np.array_equal(a.tensors[name], b.tensors[name]), name


def one_line_error(exc_info, *words):
    message = str(exc_info.value)
    assert "\n" not in message
    for word in words:
        assert str(word) in message, (word, message)
    return message


# ---------------------------------------------------------------- 1. round trips

@pytest.mark.parametrize("family", ["resnet_v1", "resnet_v2"])
@pytest.mark.parametrize("source_version,written_version", [("V2", "V1"), ("V1", "V2")])
def test_round_trip_is_bit_identical_and_restores_into_slim(built, tmp_path, family, source_version,
                                                            written_version):
    paths, outputs = built[family]
    first = slim_checkpoint.read(paths[source_version])
    assert first.meta.architecture == f"{family}_50"
    assert first.meta.source_kind == f"slim-checkpoint-{source_version.lower()}"
    raw = checkpoint_arrays(paths[source_version])
    for name, value in first.tensors.items():
        source = raw[first.sources[name]]
        assert value.dtype == source.dtype and np.array_equal(value.reshape(source.shape), source), name

    written = slim_checkpoint.write(tmp_path / "out.ckpt", first, version=written_version)
    assert slim_checkpoint.is_slim_checkpoint(written)
    again = slim_checkpoint.read(written)
    assert_same_tensors(first, again)
    assert again.sources == first.sources
    unsourced = dict(source_kind="", source_file="", source_sha256="")
    assert again.meta.replace(**unsourced) == first.meta.replace(**unsourced)
    assert np.array_equal(slim_outputs(family, CLASSES[family], written), outputs)


def test_v1_and_v2_of_one_session_read_identically(built):
    v2, v1 = (slim_checkpoint.read(built["resnet_v2"][0][v]) for v in ("V2", "V1"))
    assert_same_tensors(v2, v1)


def test_metadata_follows_slim_conventions(built):
    for family, classes in CLASSES.items():
        weights = slim_checkpoint.read(built[family][0]["V2"])
        expected = Metadata(describe(f"{family}_50", num_classes=classes, background_class=classes == 1001),
                            INPUTS["inception" if family == "resnet_v2" else "vgg"])
        assert weights.meta.replace(source_kind="", source_file="", source_sha256="") == expected
        assert weights.meta.background_class == (family == "resnet_v2")
        assert weights.tensors["logits/kernel"].shape == (2048, classes)
        unit = f"{family}_50/block1/unit_1/bottleneck_{family[-2:]}"
        assert weights.sources["stage1/unit1/conv1/kernel"] == f"{unit}/conv1/weights"


def test_background_class_means_resnet_v2_with_1001_classes(v2_arrays, tmp_path):
    arrays = dict(v2_arrays)
    arrays["resnet_v2_50/logits/weights"] = arrays["resnet_v2_50/logits/weights"][..., 1:]
    arrays["resnet_v2_50/logits/biases"] = arrays["resnet_v2_50/logits/biases"][1:]
    meta = slim_checkpoint.read(save_arrays(tmp_path / "m.ckpt", arrays)).meta
    assert meta.num_classes == 1000 and not meta.background_class


def test_source_identity_is_the_sha256_of_the_files_in_name_order(built):
    prefix = built["resnet_v2"][0]["V2"]
    data, index = prefix.with_name("model.ckpt.data-00000-of-00001"), prefix.with_name("model.ckpt.index")
    meta = slim_checkpoint.read(prefix).meta
    assert meta.source_file == "model.ckpt"
    assert meta.source_sha256 == hashlib.sha256(data.read_bytes() + index.read_bytes()).hexdigest()
    v1_meta = slim_checkpoint.read(built["resnet_v2"][0]["V1"]).meta
    assert v1_meta.source_sha256 == canonical.sha256(built["resnet_v2"][0]["V1"])


def test_dtype_is_kept_and_progress_counts_every_tensor(built, tmp_path):
    weights = slim_checkpoint.read(built["resnet_v1"][0]["V2"])
    half = canonical.Weights({n: t.astype(np.float16) for n, t in weights.tensors.items()}, weights.meta)
    written, read_back = [], []
    slim_checkpoint.write(tmp_path / "half.ckpt", half, progress=written.append)
    again = slim_checkpoint.read(tmp_path / "half.ckpt", progress=read_back.append)
    assert_same_tensors(half, again)
    total = sum(t.nbytes for t in half.tensors.values())
    assert len(written) == len(read_back) == len(half.tensors) and sum(written) == sum(read_back) == total


def test_prefix_member_files_and_state_folders_are_accepted(built, tmp_path):
    prefix = built["resnet_v2"][0]["V2"]
    reference = slim_checkpoint.read(prefix)
    for form in (prefix.parent, prefix.with_name("model.ckpt.index"),
                 prefix.with_name("model.ckpt.data-00000-of-00001")):
        assert slim_checkpoint.is_slim_checkpoint(form)
        assert_same_tensors(slim_checkpoint.read(form), reference)
    moved = tmp_path / "copied"
    shutil.copytree(prefix.parent, moved)
    (moved / "checkpoint").write_text('model_checkpoint_path: "/elsewhere/run7/model.ckpt"\n')
    assert_same_tensors(slim_checkpoint.read(moved), reference)


def test_finding_a_checkpoint_does_not_import_tensorflow(built, tmp_path):
    (tmp_path / "notes.txt").write_text("not a checkpoint\n")
    (tmp_path / "empty").mkdir()
    paths = [built["resnet_v2"][0]["V2"], built["resnet_v2"][0]["V1"], built["resnet_v2"][0]["V2"].parent,
             tmp_path / "notes.txt", tmp_path / "empty", tmp_path / "missing.ckpt"]
    out = run_python("-c", "import sys\nfrom slimcompat.weights.slim_checkpoint import is_slim_checkpoint\n"
                           f"print(*[is_slim_checkpoint(p) for p in {[str(p) for p in paths]!r}], "
                           "'tensorflow' in sys.modules)")
    assert out.stdout.split() == ["True", "True", "True", "False", "False", "False", "False"]


# ---------------------------------------------------------------- 2. training state

@pytest.fixture(scope="module")
def trained(module_tmp):
    """A resnet_v2_50 checkpoint after one Momentum step and one EMA update: (prefix, arrays)."""
    tf = tf_module()
    v1 = tf.compat.v1
    prefix = module_tmp("trained") / "model.ckpt-1"
    with tf.Graph().as_default():
        v1.set_random_seed(3)
        inputs = v1.placeholder(tf.float32, INPUT.shape)
        logits = slim_net("resnet_v2", 10, inputs, is_training=True)
        loss = tf.reduce_mean(tf.square(logits))
        step = v1.train.get_or_create_global_step()
        train = v1.train.MomentumOptimizer(0.01, 0.9).minimize(loss, global_step=step)
        import tf_slim as slim
        ema = v1.train.ExponentialMovingAverage(0.9)
        with tf.control_dependencies([train]):
            average = ema.apply(slim.get_model_variables())
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            session.run(average, {inputs: INPUT})
            v1.train.Saver().save(session, str(prefix), write_meta_graph=False, write_state=False)
    return prefix, checkpoint_arrays(prefix)


def test_training_state_is_ignored(trained):
    prefix, arrays = trained
    assert "global_step" in arrays and f"{V2_CONV1}/Momentum" in arrays and f"{V2_CONV1}{EMA}" in arrays
    weights = slim_checkpoint.read(prefix)
    assert weights.meta.num_classes == 10 and not weights.meta.background_class
    assert weights.sources["stage1/unit1/conv1/kernel"] == V2_CONV1
    assert np.array_equal(weights.tensors["stage1/unit1/conv1/kernel"], arrays[V2_CONV1])
    assert not any(s.endswith(("Momentum", EMA)) for s in weights.sources.values())


def test_use_ema_takes_every_value_from_its_shadow(trained):
    prefix, arrays = trained
    weights = slim_checkpoint.read(prefix, use_ema=True)
    changed = 0
    for name, value in weights.tensors.items():
        shadow = weights.sources[name]
        assert shadow.endswith(EMA)
        assert np.array_equal(value.reshape(arrays[shadow].shape), arrays[shadow]), name
        changed += not np.array_equal(arrays[shadow], arrays[shadow[:-len(EMA)]])
    assert changed > 100


def test_use_ema_without_a_shadow_is_an_error(trained, tmp_path):
    _, arrays = trained
    del arrays[f"{V2_CONV1}{EMA}"]
    prefix = save_arrays(tmp_path / "m.ckpt", arrays)
    with pytest.raises(WeightsError) as exc:
        slim_checkpoint.read(prefix, use_ema=True)
    one_line_error(exc, prefix, V2_CONV1, "1 of 272")


def test_adam_and_rmsprop_state_is_ignored(v2_arrays, tmp_path):
    arrays = dict(v2_arrays)
    arrays.update({"beta1_power": np.float32(0.9), "beta2_power": np.float32(0.999),
                   f"{V2_CONV1}/Adam": v2_arrays[V2_CONV1], f"{V2_CONV1}/Adam_1": v2_arrays[V2_CONV1],
                   f"{V2_CONV1}/RMSProp": v2_arrays[V2_CONV1] + 1})
    prefix = save_arrays(tmp_path / "m.ckpt", arrays)
    assert np.array_equal(slim_checkpoint.read(prefix).tensors["stage1/unit1/conv1/kernel"], v2_arrays[V2_CONV1])


# ---------------------------------------------------------------- 3. headless

def test_headless_model_has_no_classes(tmp_path):
    paths, features = build_slim_checkpoint(tmp_path, "resnet_v2", None)
    weights = slim_checkpoint.read(paths["V2"])
    assert weights.meta.num_classes is None and not weights.meta.background_class
    assert not any(n.startswith("logits/") for n in weights.tensors)
    assert len(weights.tensors) == len(describe("resnet_v2_50", num_classes=None, background_class=False).tensors())
    written = slim_checkpoint.write(tmp_path / "out.ckpt", weights)
    assert_same_tensors(weights, slim_checkpoint.read(written))
    assert np.array_equal(slim_outputs("resnet_v2", None, written), features)


# ---------------------------------------------------------------- 4. errors

def _read_error(prefix, error=WeightsError, **kwargs):
    with pytest.raises(error) as exc:
        slim_checkpoint.read(prefix, **kwargs)
    return exc


def test_missing_variable(v2_arrays, tmp_path):
    arrays = {n: v for n, v in v2_arrays.items() if n != V2_CONV1}
    prefix = save_arrays(tmp_path / "m.ckpt", arrays)
    exc = _read_error(prefix, MappingError)
    assert exc.value.missing == [V2_CONV1] and not exc.value.unexpected
    one_line_error(exc, prefix, "1 missing", V2_CONV1)


def test_renamed_variable(v2_arrays, tmp_path):
    arrays = dict(v2_arrays)
    renamed = V2_CONV1.replace("/weights", "/kernel")
    arrays[renamed] = arrays.pop(V2_CONV1)
    prefix = save_arrays(tmp_path / "m.ckpt", arrays, version="V1")
    exc = _read_error(prefix, MappingError)
    assert exc.value.missing == [V2_CONV1] and exc.value.unexpected == [renamed]
    one_line_error(exc, prefix, V2_CONV1, renamed)


def test_unexpected_variable(v2_arrays, tmp_path):
    extra = "resnet_v2_50/block1/unit_1/bottleneck_v2/conv4/weights"
    prefix = save_arrays(tmp_path / "m.ckpt", {**v2_arrays, extra: v2_arrays[V2_CONV1]})
    exc = _read_error(prefix, MappingError)
    assert exc.value.unexpected == [extra] and not exc.value.missing
    one_line_error(exc, prefix, "1 unexpected", extra)


def test_wrong_shape(v2_arrays, tmp_path):
    arrays = {**v2_arrays, V2_CONV1: np.zeros((1, 1, 64, 32), np.float32)}
    prefix = save_arrays(tmp_path / "m.ckpt", arrays)
    exc = _read_error(prefix, MappingError)
    one_line_error(exc, prefix, V2_CONV1, "expected (1, 1, 64, 64) found (1, 1, 64, 32)")


def test_architecture_is_detected_or_chosen(v2_arrays, tmp_path):
    other = {n.replace("resnet_v2_50/", "resnet_v2_101/", 1): v for n, v in v2_arrays.items() if "/" in n}
    both = save_arrays(tmp_path / "both.ckpt", {**v2_arrays, **other})
    one_line_error(_read_error(both), both, "resnet_v2_101, resnet_v2_50", "arch")
    chosen = slim_checkpoint.read(both, arch="resnet_v2_50")
    assert chosen.meta.architecture == "resnet_v2_50"
    assert np.array_equal(chosen.tensors["stage1/unit1/conv1/kernel"], v2_arrays[V2_CONV1])
    one_line_error(_read_error(both, arch="resnet_v1_50"), "no resnet_v1_50 variables")
    none = save_arrays(tmp_path / "none.ckpt", {"encoder/dense/kernel": np.zeros((2, 2), np.float32)})
    one_line_error(_read_error(none), none, "no slim network variables", "encoder/dense/kernel")


def test_truncated_or_corrupt_data(built, tmp_path):
    source = built["resnet_v2"][0]["V2"]
    for name in ("model.ckpt.index", "model.ckpt.data-00000-of-00001"):
        shutil.copy(source.with_name(name), tmp_path / name)
    data = tmp_path / "model.ckpt.data-00000-of-00001"
    os.truncate(data, data.stat().st_size // 2)
    exc = _read_error(tmp_path / "model.ckpt")
    one_line_error(exc, tmp_path / "model.ckpt", "tensor resnet_v2_50/", "truncated or corrupt")

    shutil.copy(source.with_name(data.name), data)
    with open(data, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    one_line_error(_read_error(tmp_path / "model.ckpt"), tmp_path / "model.ckpt", "tensor resnet_v2_50/")

    v1 = tmp_path / "v1.ckpt"
    shutil.copy(built["resnet_v2"][0]["V1"], v1)
    os.truncate(v1, v1.stat().st_size // 2)
    assert slim_checkpoint.is_slim_checkpoint(v1)  # it begins as one: reported as truncated, not as another kind
    one_line_error(_read_error(v1), v1, "truncated V1 checkpoint")


def test_not_a_checkpoint(built, tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "noise.ckpt").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "empty").mkdir()
    (tmp_path / "dangling").mkdir()
    (tmp_path / "dangling" / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-9"\n')
    shutil.copy(built["resnet_v2"][0]["V2"].with_name("model.ckpt.index"), tmp_path / "lonely.ckpt.index")
    cases = {tmp_path / "notes.txt": "not a TF checkpoint", tmp_path / "noise.ckpt": "not a TF checkpoint",
             tmp_path / "empty": "without a `checkpoint` state file", tmp_path / "missing.ckpt": "no such checkpoint",
             tmp_path / "dangling": "model.ckpt-9", tmp_path / "lonely.ckpt": "no data file"}
    for path, words in cases.items():
        assert slim_checkpoint.is_slim_checkpoint(path) == (path.name in ("dangling", "lonely.ckpt"))
        one_line_error(_read_error(path), path, words)


def _keras_like(weights, **changes):
    return canonical.Weights(dict(weights.tensors), weights.meta.replace(**changes), dict(weights.sources))


def _random_weights(convention, **changes):
    return random_weights("resnet_v1_50", convention, **changes)


def test_writing_weights_slim_would_compute_differently_is_refused(built, tmp_path):
    weights = slim_checkpoint.read(built["resnet_v1"][0]["V2"])
    cases = [(_keras_like(weights, stride_placement="first_unit_1x1"), "stride_placement first_unit_1x1"),
             (_random_weights("keras"), "stride_placement first_unit_1x1"),
             (_random_weights("keras", stride_placement="last_unit_3x3", stage_strides=(2, 2, 2, 1)),
              "conv_bias True")]
    for bad, words in cases:
        with pytest.raises(SlimcompatError) as exc:
            slim_checkpoint.write(tmp_path / "out.ckpt", bad)
        one_line_error(exc, tmp_path / "out.ckpt", words, "refusing")
    assert list(tmp_path.iterdir()) == []


def test_existing_destination_is_refused_and_left_untouched(built, tmp_path):
    weights = slim_checkpoint.read(built["resnet_v1"][0]["V2"])
    other = _keras_like(weights)
    other.tensors["logits/bias"] = other.tensors["logits/bias"] + 1
    slim_checkpoint.write(tmp_path / "m.ckpt", weights, version="V1")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    for version in ("V1", "V2"):
        with pytest.raises(WeightsError) as exc:
            slim_checkpoint.write(tmp_path / "m.ckpt", other, version=version)
        one_line_error(exc, tmp_path / "m.ckpt", "already exists")
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before

    slim_checkpoint.write(tmp_path / "m.ckpt", other, overwrite=True, version="V2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.ckpt.data-00000-of-00001", "m.ckpt.index"]
    assert np.array_equal(slim_checkpoint.read(tmp_path / "m.ckpt").tensors["logits/bias"],
                          other.tensors["logits/bias"])


def test_a_failed_write_leaves_nothing(built, tmp_path):
    weights = slim_checkpoint.read(built["resnet_v2"][0]["V2"])

    def fail(_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        slim_checkpoint.write(tmp_path / "m.ckpt", weights, progress=fail)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SlimcompatError) as exc:
        slim_checkpoint.write(tmp_path / "m.ckpt", weights, version="V3")
    one_line_error(exc, "V1, V2", "'V3'")
    with pytest.raises(WeightsError) as exc:
        slim_checkpoint.write(tmp_path / "no" / "m.ckpt", weights)
    one_line_error(exc, tmp_path / "no", "does not exist")
    assert list(tmp_path.iterdir()) == []
