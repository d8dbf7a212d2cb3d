"""Conversions end to end: real source files, the CLI a user runs, outputs compared.

Sources: a tf_slim resnet_v2_50 checkpoint saved by Saver; the Keras-1
ResNet50 file as published (fixture writer); canonical files of a slim v1
layout for the refusals. Outputs are compared on a seeded random batch; the
relative error is max |a - b| / max |b|.
"""

import hashlib
import warnings

import numpy as np
import pytest

from conftest import slimcompat
from fixtures.slim_models import slim_outputs
from fixtures.weights import random_weights
from slimcompat.arch import describe, scheme
from slimcompat.errors import MappingError
from slimcompat.nets import keras_net
from slimcompat.weights import canonical, convert, keras_io, transforms

IMAGES = np.random.default_rng(11).uniform(-1, 1, (2, 96, 96, 3)).astype(np.float32)
KERAS1 = describe("keras1:resnet_v1_50")


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def keras_logits(weights, faithful=True):
    model = keras_io.to_keras_model(weights, faithful=faithful, input_shape=IMAGES.shape[1:])
    return np.asarray(model(IMAGES, training=False))


@pytest.fixture(scope="module")
def slim_v2(fixture_files):
    """(V2 checkpoint prefix, slim logits [2, 1001]) of a real tf_slim resnet_v2_50."""
    prefix = fixture_files.slim_checkpoint("resnet_v2", 1001, seed=3)["V2"]
    return prefix, slim_outputs("resnet_v2", 1001, prefix, images=IMAGES).reshape(len(IMAGES), -1)


@pytest.fixture(scope="module")
def legacy(fixture_files):
    """Path of a Keras-1 ResNet50 weight file in the published layout (shared: read it, never change it)."""
    return fixture_files.keras1_resnet50(seed=5)[0]


@pytest.fixture(scope="module")
def small_canonical(module_tmp):
    """A canonical resnet_v1_18 of 10 classes: the smallest file that shows a reader's refusals."""
    path = module_tmp("small") / "r18.h5"
    canonical.write(path, random_weights("resnet_v1_18", "slim", num_classes=10))
    return path


@pytest.mark.slow
def test_slim_v2_to_faithful_keras_gives_the_slim_outputs(slim_v2, tmp_path, cli):
    prefix, slim_logits = slim_v2
    cli("convert", prefix, tmp_path / "w.h5", "--quiet")
    weights = canonical.read(tmp_path / "w.h5")
    faithful = keras_logits(weights)
    assert faithful.shape == (2, 1001)
    error = relative(faithful, slim_logits)
    print(f"slim resnet_v2_50 vs faithful Keras ResNetV2: max rel error {error:.2e}")
    assert error < 1e-5
    with pytest.warns(UserWarning, match="stem pooling padding same .stock: pad1."):
        stock = keras_logits(weights, faithful=False)
    stock_error = relative(stock, slim_logits)
    print(f"slim resnet_v2_50 vs stock Keras ResNet50V2: max rel error {stock_error:.2e}")
    assert stock_error > 1e-3


@pytest.mark.slow
def test_background_class_needs_an_explicit_flag(slim_v2, tmp_path, cli):
    prefix, slim_logits = slim_v2
    out = cli("convert", prefix, tmp_path / "k.h5", "--to", "keras", check=False)
    assert out.returncode == 2 and "--drop-background" in out.stderr and not (tmp_path / "k.h5").exists()
    cli("convert", prefix, tmp_path / "k.h5", "--to", "keras", "--drop-background", "--quiet")
    weights = convert.load(tmp_path / "k.h5")
    assert weights.meta.num_classes == 1000 and not weights.meta.background_class
    assert relative(keras_logits(weights), slim_logits[:, 1:]) < 1e-5


@pytest.mark.slow
def test_slim_round_trip_through_a_canonical_file_is_bit_identical(slim_v2, tmp_path, cli):
    prefix, _ = slim_v2
    cli("convert", prefix, tmp_path / "w.h5", "--quiet")
    cli("convert", tmp_path / "w.h5", tmp_path / "back.ckpt", "--quiet")
    import tensorflow as tf
    a, b = tf.train.load_checkpoint(str(prefix)), tf.train.load_checkpoint(str(tmp_path / "back.ckpt"))
    names = a.get_variable_to_shape_map()
    assert names == b.get_variable_to_shape_map() and len(names) == 272
    for name in names:
        x, y = a.get_tensor(name), b.get_tensor(name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_legacy_h5_round_trip_through_keras_h5_is_bit_identical(legacy, tmp_path, cli):
    cli("convert", legacy, tmp_path / "a.h5", "--quiet")
    cli("convert", tmp_path / "a.h5", tmp_path / "modern.h5", "--to", "keras", "--quiet")
    cli("convert", tmp_path / "modern.h5", tmp_path / "b.h5", "--quiet")
    a, b = canonical.read(tmp_path / "a.h5"), canonical.read(tmp_path / "b.h5")
    assert a.meta.bn_epsilon == 1e-3 and a.meta.stem_pool == "valid" and a.meta.input.color == "BGR"
    assert b.meta.replace(source_kind="", source_file="", source_sha256="") == \
        a.meta.replace(source_kind="", source_file="", source_sha256="")
    assert a.sources["stage1/unit1/shortcut/bn/moving_variance"] == "bn2a_branch1_running_std:0"
    assert list(a.tensors) == list(b.tensors) and len(a.tensors) == 320
    for name in a.tensors:
        assert np.array_equal(a.tensors[name], b.tensors[name]), name


def test_keras2_era_file_with_caffe_layer_names_is_read(legacy, tmp_path):
    """keras.applications ResNet50 before 2019: Keras 2 layout, res2a_branch2a names, kernel/bias params."""
    from slimcompat.weights import keras_files
    weights = convert.load(legacy)
    bound = scheme("keras1", KERAS1)
    layers = {}
    for name, value in weights.tensors.items():
        layer = bound.layer(name.rpartition("/")[0])
        layers.setdefault(layer, []).append((name.rpartition("/")[2], value))
    keras_files.write_keras2_h5(tmp_path / "k2.h5", list(layers.items()), keras_version="2.1.6")
    again = convert.load(tmp_path / "k2.h5")
    assert again.meta.source_kind == "keras2-h5" and again.meta.bn_epsilon == 1e-3
    assert again.sources["stage1/unit1/conv1/kernel"] == "res2a_branch2a/kernel:0"
    assert all(np.array_equal(again.tensors[n], weights.tensors[n]) for n in weights.tensors)


@pytest.mark.slow
def test_modern_keras_h5_loads_into_stock_keras_by_position(legacy, tmp_path):
    import keras
    with pytest.warns(UserWarning, match="BatchNorm epsilon 0.001"):
        keras_io.write(tmp_path / "modern.h5", convert.load(legacy))
    model = keras.applications.ResNet50(weights=None)
    model.load_weights(tmp_path / "modern.h5")
    got = keras_net.canonical_weights(model, KERAS1, "keras")
    want = convert.load(legacy).tensors
    assert all(np.array_equal(got[n], want[n]) for n in want)


@pytest.mark.slow
def test_legacy_resnet50_as_published_versus_modern(legacy):
    published = keras_net.build(KERAS1, naming="keras1", input_shape=IMAGES.shape[1:])
    published.load_weights(legacy)
    reference = np.asarray(published(IMAGES, training=False))
    weights = convert.load(legacy)
    faithful_error = relative(keras_logits(weights), reference)
    with pytest.warns(UserWarning, match="stem pooling padding valid .stock: pad1.; BatchNorm epsilon 0.001 "
                                         ".stock: 1.001e-05."):
        stock_error = relative(keras_logits(weights, faithful=False), reference)
    epsilon_only = keras_net.build(KERAS1.replace(stem_pool="pad1"), input_shape=IMAGES.shape[1:])
    keras_net.set_canonical_weights(epsilon_only, KERAS1, "keras", weights.tensors)
    epsilon_only_error = relative(np.asarray(epsilon_only(IMAGES, training=False)), reference)
    print(f"Keras-1 ResNet50 as published vs: faithful modern {faithful_error:.2e}, "
          f"modern with legacy epsilon only {epsilon_only_error:.2e}, stock {stock_error:.2e}")
    assert faithful_error < 1e-5
    assert epsilon_only_error > 1e-3 and stock_error > 1e-3


@pytest.mark.slow
def test_bn_epsilon_folding_keeps_the_outputs(legacy):
    weights = convert.load(legacy)
    folded = transforms.set_bn_epsilon(weights, 1.001e-5)
    assert relative(keras_logits(folded), keras_logits(weights)) < 1e-5
    assert not np.array_equal(folded.tensors["stem/conv/bn/moving_variance"],
                              weights.tensors["stem/conv/bn/moving_variance"])


@pytest.mark.slow
def test_flip_color_is_explicit_and_exact(legacy, tmp_path, cli):
    cli("convert", legacy, tmp_path / "rgb.h5", "--flip-color", "--quiet")
    flipped = canonical.read(tmp_path / "rgb.h5")
    assert flipped.meta.input.color == "RGB"
    original = keras_logits(convert.load(legacy))
    model = keras_io.to_keras_model(flipped, input_shape=IMAGES.shape[1:])
    assert relative(np.asarray(model(IMAGES[..., ::-1], training=False)), original) < 1e-5


def _slim_v1_canonical(path):
    canonical.write(path, random_weights("resnet_v1_50", "slim"))
    return path


def test_stride_placement_is_never_mapped_across(legacy, tmp_path, cli):
    out = cli("convert", legacy, tmp_path / "x.ckpt", check=False)
    assert out.returncode == 3 and "first_unit_1x1" in out.stderr and not list(tmp_path.glob("x.ckpt*"))
    slim_v1 = _slim_v1_canonical(tmp_path / "v1.h5")
    out = cli("convert", slim_v1, tmp_path / "v1_keras.h5", "--to", "keras", check=False)
    assert out.returncode == 3 and "last_unit_3x3" in out.stderr and not (tmp_path / "v1_keras.h5").exists()


@pytest.mark.slow
def test_slim_v1_weights_build_a_faithful_keras_model_and_save_as_keras(tmp_path, cli):
    weights = canonical.read(_slim_v1_canonical(tmp_path / "v1.h5"))
    cli("convert", tmp_path / "v1.h5", tmp_path / "v1.keras", "--quiet")
    import keras
    model = keras.models.load_model(tmp_path / "v1.keras")
    assert model.output_shape == (None, 1000)
    got = keras_net.canonical_weights(model, weights.meta.arch, "keras")
    assert all(np.array_equal(got[n], weights.tensors[n]) for n in weights.tensors)


def test_a_load_is_all_or_nothing():
    model = keras_net.build(KERAS1, input_shape=(32, 32, 3))
    before = [np.array(w) for w in model.get_weights()]
    tensors = {n: np.ones(s, np.float32) for n, s in KERAS1.tensors().items()}
    tensors["stage4/unit3/conv3/kernel"] = np.ones((1, 1, 512, 7), np.float32)
    del tensors["logits/bias"]
    tensors["extra/kernel"] = np.ones(3, np.float32)
    with pytest.raises(MappingError) as info:
        keras_net.set_canonical_weights(model, KERAS1, "keras", tensors)
    message = str(info.value)
    assert "1 missing (logits/bias)" in message and "1 unexpected (extra/kernel)" in message
    assert "stage4/unit3/conv3/kernel expected (1, 1, 512, 2048) found (1, 1, 512, 7)" in message
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _corrupt(kind):
    def make(tmp_path, legacy, good):
        if kind == "truncated":
            (tmp_path / "src.h5").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
        elif kind == "garbage":
            (tmp_path / "src.h5").write_bytes(np.random.default_rng(1).bytes(4096))
        elif kind == "truncated-keras":
            (tmp_path / "src.h5").write_bytes(legacy.read_bytes()[: legacy.stat().st_size // 2])
        else:
            import h5py
            (tmp_path / "src.h5").write_bytes(good.read_bytes())
            with h5py.File(tmp_path / "src.h5", "a") as f:
                if kind == "nan":
                    f["tensors/stage2/unit1/conv2/kernel"][0, 0, 0, 0] = np.nan
                elif kind == "missing":
                    del f["tensors/stage2/unit1/conv2/kernel"]
                elif kind == "extra":
                    f["tensors"].create_dataset("stage9/unit1/conv1/kernel", data=np.zeros(4, np.float32))
                elif kind == "shape":
                    del f["tensors/logits/bias"]
                    f["tensors/logits"].create_dataset("bias", data=np.zeros(999, np.float32))
        return tmp_path / "src.h5"
    return make


@pytest.mark.parametrize("kind,words", [
    ("truncated", ["src.h5"]), ("garbage", ["src.h5", "not a canonical file"]),
    ("truncated-keras", ["src.h5"]), ("nan", ["stage2/unit1/conv2/kernel", "NaN"]),
    ("missing", ["1 missing", "stage2/unit1/conv2/kernel"]), ("extra", ["1 unexpected", "stage9"]),
    ("shape", ["logits/bias expected (10,) found (999,)"]),
])
def test_bad_input_is_one_line_nonzero_and_leaves_nothing(legacy, small_canonical, tmp_path, kind, words, cli):
    src = _corrupt(kind)(tmp_path, legacy, small_canonical)
    before = _digest(src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = cli("convert", src, out_dir / "dst.h5", check=False)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("slimcompat: error:"), out.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert list(out_dir.iterdir()) == [] and _digest(src) == before


@pytest.mark.slow
def test_wrong_architecture_flag_and_unusable_paths(slim_v2, legacy, tmp_path, cli):
    prefix, _ = slim_v2
    out = cli("convert", prefix, tmp_path / "w.h5", "--arch", "resnet_v2_101", check=False)
    assert out.returncode == 2 and "resnet_v2_101" in out.stderr and not (tmp_path / "w.h5").exists()
    out = cli("convert", tmp_path / "nothing.h5", tmp_path / "w.h5", check=False)
    assert out.returncode == 2 and "nothing.h5" in out.stderr
    out = cli("convert", legacy, tmp_path / "no" / "dir" / "w.h5", check=False)
    assert out.returncode == 2 and "does not exist" in out.stderr
    (tmp_path / "w.h5").write_bytes(b"keep")
    out = cli("convert", legacy, tmp_path / "w.h5", check=False)
    assert out.returncode == 2 and "--force" in out.stderr and (tmp_path / "w.h5").read_bytes() == b"keep"
    cli("convert", legacy, tmp_path / "w.h5", "--force", "--quiet")
    assert canonical.is_canonical(tmp_path / "w.h5")


def test_quiet_is_silent_and_a_piped_stderr_gets_no_bar(legacy, tmp_path):
    """In a fresh process with stderr piped, as in CI logs: no bar however long the read takes."""
    out = slimcompat("convert", legacy, tmp_path / "w.h5", "--quiet")
    assert out.stdout == "" and out.stderr == ""
    out = slimcompat("convert", legacy, tmp_path / "v.h5")
    assert out.stderr == "" and out.stdout.count("\n") == 1 and "320 tensors" in out.stdout


def test_the_bar_shows_on_a_terminal_or_when_asked_and_never_when_told_not_to(small_canonical, tmp_path, cli):
    from slimcompat.cli import progress

    class Terminal:
        def isatty(self):
            return True
    assert progress.shows(Terminal()) and not progress.shows(Terminal(), forced=False)
    assert not progress.shows(tmp_path.joinpath("log").open("w")) and progress.shows(None, forced=True)
    out = cli("convert", small_canonical, tmp_path / "a.h5")
    assert out.stderr == "" and "resnet_v1_18" in out.stdout
    out = cli("convert", small_canonical, tmp_path / "b.h5", "--progress")
    assert "read r18.h5" in out.stderr and "write b.h5" in out.stderr and "resnet_v1_18" in out.stdout
    assert cli("convert", small_canonical, tmp_path / "c.h5", "--progress", "--quiet").stderr == ""
    assert cli("convert", small_canonical, tmp_path / "d.h5", "--progress", "--no-progress").stderr == ""
    assert cli("convert", small_canonical, tmp_path / "e.h5").stderr == ""   # the last call's --progress is gone
    assert all(canonical.is_canonical(tmp_path / f"{n}.h5") for n in "abcde")


@pytest.mark.slow
def test_inspect_reads_every_kind(slim_v2, legacy, tmp_path, cli):
    prefix, _ = slim_v2
    for path, kind, tensors in [(prefix, "slim", 272), (legacy, "keras", 320)]:
        out = cli("inspect", path).stdout
        assert f"kind          {kind}" in out and f"tensors       {tensors}" in out, out
    assert "index 0 = background" in cli("inspect", prefix).stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras_io.write(tmp_path / "m.weights.h5", convert.load(legacy))
    assert "keras3-weights-h5" in cli("inspect", tmp_path / "m.weights.h5", "--json").stdout


@pytest.mark.slow
def test_mapping_errors_name_tensors_as_the_source_file_does(legacy, tmp_path, slim_v2, cli):
    import h5py
    bad = tmp_path / "bad.h5"
    bad.write_bytes(legacy.read_bytes())
    with h5py.File(bad, "a") as f:
        del f["res3a_branch2b"]["res3a_branch2b_W:0"]
        f["res3a_branch2b"].create_dataset("res3a_branch2b_W:0", data=np.zeros((3, 3, 128, 129), np.float32))
    out = cli("convert", bad, tmp_path / "x.h5", check=False)
    assert out.returncode == 2
    assert "res3a_branch2b_W:0 (stage2/unit1/conv2/kernel) expected (3, 3, 128, 128) found (3, 3, 128, 129)" \
        in out.stderr
    out = cli("convert", slim_v2[0], tmp_path / "y.h5", "--arch", "resnet_v2_50", "--variant",
                     "base_width=32", check=False)
    assert out.returncode == 2 and "resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights " \
        "(stage1/unit1/conv1/kernel) expected (1, 1, 64, 32) found (1, 1, 64, 64)" in out.stderr, out.stderr


def test_an_arch_that_contradicts_a_canonical_file_is_refused(tmp_path, cli):
    path = tmp_path / "w.h5"
    canonical.write(path, random_weights("resnet_v2_50"))
    out = cli("convert", path, tmp_path / "x.h5", "--arch", "resnet_v1_18", check=False)
    assert out.returncode == 2 and "records resnet_v2_50, not resnet_v1_18" in out.stderr
    assert not (tmp_path / "x.h5").exists()
