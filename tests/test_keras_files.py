"""Keras weight files written by the real tools read back exactly, with h5py alone."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import zipfile

import h5py
import keras
import numpy as np
import pytest

from conftest import run_python
from fixtures.keras1_writer import ARCH as KERAS1_ARCH
from slimcompat.errors import WeightsError
from slimcompat.nets.keras_net import build, canonical_weights
from slimcompat.weights import keras_files
from slimcompat.arch import scheme

SMALL = (64, 64, 3)


def _randomize(model, seed=0):
    """Distinct random values everywhere, so a swapped gamma/variance cannot go unnoticed."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _by_name(model):
    """{(layer, weight name): value} in model order, Keras 3 or tf-keras."""
    out = {}
    for layer in model.layers:
        for variable in layer.weights:
            param = variable.name.split("/")[-1].split(":")[0]
            out[(layer.name, param)] = np.asarray(variable.numpy())
    return out


def _assert_bit_identical(tensors, expected):
    assert set(tensors) == set(expected)
    for key, value in expected.items():
        assert tensors[key].dtype == value.dtype and np.array_equal(tensors[key], value), key


@pytest.fixture(scope="module")
def stock():
    return _randomize(keras.applications.ResNet50(weights=None, input_shape=SMALL))


@pytest.fixture(scope="module")
def files(stock, module_tmp):
    folder = module_tmp("keras")
    stock.save_weights(folder / "r50.weights.h5")
    stock.save(folder / "r50.keras")
    return folder


def test_keras3_weights_h5_reads_back_bit_identical(stock, files):
    path = files / "r50.weights.h5"
    assert keras_files.detect(path) == "keras3"
    kind, order, tensors = keras_files.read(path)
    assert kind == "keras3"
    assert sorted(order) == sorted(layer.name for layer in stock.layers)
    _assert_bit_identical(tensors, _by_name(stock))


def test_keras_zip_reads_back_bit_identical_in_model_order(stock, files):
    path = files / "r50.keras"
    assert keras_files.detect(path) == "keras3"
    kind, order, tensors = keras_files.read(path)
    assert kind == "keras3"
    assert order == [layer.name for layer in stock.layers]
    assert list(tensors) == list(_by_name(stock))
    _assert_bit_identical(tensors, _by_name(stock))


def test_written_keras2_h5_loads_into_keras_applications(stock, tmp_path):
    layers = [(layer.name, [(v.name, v.numpy()) for v in layer.weights]) for layer in stock.layers if layer.weights]
    path = keras_files.write_keras2_h5(tmp_path / "r50.h5", layers, extra_attrs={"note": "kept"})
    assert keras_files.detect(path) == "keras2"
    with h5py.File(path) as f:
        assert set(f.attrs) == {"layer_names", "keras_version", "backend", "note"}
        assert "conv1_conv/conv1_conv/kernel:0" in f
    fresh = keras.applications.ResNet50(weights=None, input_shape=SMALL)
    fresh.load_weights(path)
    _assert_bit_identical(_by_name(fresh), _by_name(stock))
    fresh = _randomize(fresh, seed=5)
    fresh.load_weights(path, by_name=True)
    _assert_bit_identical(_by_name(fresh), _by_name(stock))
    assert [p.name for p in tmp_path.iterdir()] == ["r50.h5"]
    with pytest.raises(WeightsError, match="already exists"):
        keras_files.write_keras2_h5(path, layers)


def test_tf_keras_h5_reads_back_and_round_trips(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    model = _randomize(tf_keras.applications.ResNet50(weights=None, input_shape=SMALL), seed=1)
    model.save_weights(str(tmp_path / "tfk.h5"))
    assert keras_files.detect(tmp_path / "tfk.h5") == "keras2"
    kind, order, tensors = keras_files.read(tmp_path / "tfk.h5")
    assert kind == "keras2" and order == [layer.name for layer in model.layers]
    _assert_bit_identical(tensors, _by_name(model))
    layers = []
    for name in order:
        params = [(param, value) for (layer, param), value in tensors.items() if layer == name]
        if params:
            layers.append((name, params))
    keras_files.write_keras2_h5(tmp_path / "again.h5", layers)
    fresh = tf_keras.applications.ResNet50(weights=None, input_shape=SMALL)
    fresh.load_weights(str(tmp_path / "again.h5"))
    _assert_bit_identical(_by_name(fresh), _by_name(model))


@pytest.mark.parametrize("include_top", [True, False], ids=["top", "notop"])
def test_keras1_fixture_follows_weight_names_order(fixture_files, include_top):
    path, written = fixture_files.keras1_resnet50(include_top=include_top)
    with h5py.File(path) as f:
        assert set(f.attrs) == {"layer_names"}
        assert list(f["bn_conv1"]) == sorted(f["bn_conv1"])  # h5py lists datasets alphabetically...
        file_order = [n.decode() for n in f.attrs["layer_names"]]
    assert keras_files.detect(path) == "keras1"
    kind, order, tensors = keras_files.read(path)
    assert kind == "keras1" and order == file_order
    assert order[:6] == ["input_1", "zeropadding2d_1", "conv1", "bn_conv1", "activation_1", "maxpooling2d_1"]
    assert order[12:18] == ["res2a_branch2c", "res2a_branch1", "bn2a_branch2c", "bn2a_branch1", "merge_1",
                            "activation_4"]
    assert order[-1] == ("fc1000" if include_top else "avg_pool")
    # ...but the reader follows weight_names: gamma, beta, running_mean, running_std.
    assert [p for (layer, p) in tensors if layer == "bn_conv1"] == ["gamma", "beta", "running_mean", "running_std"]
    assert [p for (layer, p) in tensors if layer == "conv1"] == ["W", "b"]
    names = scheme("keras1", KERAS1_ARCH)
    assert len(tensors) == len(written)
    for canonical_name, value in written.items():
        layer, param = names.split(names.tensor(canonical_name))
        assert np.array_equal(tensors[(layer, param)], value), canonical_name


def test_keras1_fixture_loads_by_keras_topological_order(fixture_files):
    """Keras pairs weighted layers by position: the fixture's order is the one Keras computes."""
    path, written = fixture_files.keras1_resnet50()
    model = build(KERAS1_ARCH, naming="keras1", input_shape=SMALL)
    model.load_weights(path)
    loaded = canonical_weights(model, KERAS1_ARCH, "keras1")
    assert all(np.array_equal(loaded[n], written[n]) for n in written)


def test_detect_says_none_for_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("a.txt", "a")
    for name in ("notes.txt", "other.h5", "other.zip", "missing.h5"):
        assert keras_files.detect(tmp_path / name) is None, name


def test_broken_files_fail_with_one_line_naming_the_file(files, tmp_path):
    data = (files / "r50.weights.h5").read_bytes()
    (tmp_path / "cut.weights.h5").write_bytes(data[: len(data) // 2])
    (tmp_path / "cut.keras").write_bytes((files / "r50.keras").read_bytes()[:-5000])
    (tmp_path / "junk.h5").write_bytes(b"definitely not hdf5" * 10)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    cases = {"cut.weights.h5": "truncated or corrupt HDF5", "cut.keras": "truncated or corrupt zip",
             "junk.h5": "not a Keras weight file", "other.h5": "unknown HDF5 layout", "missing.h5": "no such file"}
    for name, problem in cases.items():
        with pytest.raises(WeightsError) as info:
            keras_files.read(tmp_path / name)
        message = str(info.value)
        assert str(tmp_path / name) in message and problem in message and "\n" not in message, message
    with pytest.raises(WeightsError, match="truncated"):
        keras_files.detect(tmp_path / "cut.weights.h5")


def test_reading_imports_no_framework(fixture_files):
    path, _ = fixture_files.keras1_resnet50(include_top=False)
    code = ("import sys\n"
            "from slimcompat.weights import keras_files\n"
            f"kind, order, tensors = keras_files.read({str(path)!r})\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
            "print(kind, len(tensors), loaded)\n")
    out = run_python("-c", code).stdout.split()
    assert out == ["keras1", "318", "[]"], out
