"""A user's own model, whatever its names: recognised by structure, weights in and out, differences explained.

The models are the seeds' own (slimcompat/testing/seeds.py builds them from the team's extraction of the
seed programs), Keras 3 and tf-keras, functional and subclassed, auto-named; plus keras.applications
and slimcompat's own builder as references. Expected descriptions are the knob sets whose parameter
counts equal the seed authors' printouts (tests/test_arch.py).
"""

import json
import warnings

import h5py
import numpy as np
import pytest

from fixtures.seeds import EXPECTED, SPECS, randomize, seed_model, spec
from slimcompat.arch import ResNet, describe
from slimcompat.errors import MappingError, SlimcompatError
from slimcompat.structure import RecognitionError, recognize
from slimcompat.structure import diff as structure_diff
from slimcompat.structure import model_code, model_weights
from slimcompat.weights import object_tree
from slimcompat.structure.diff import harmonize
from slimcompat.weights import canonical, convert, keras_io

pytestmark = pytest.mark.slow   # the seeds' models at full size: default tier only


def _recognised(key, keras="2"):
    model = seed_model(key, keras)
    return model, recognize(model, SPECS[key][1])


def _same_network(found, expected):
    """The recognised description is the expected one: same plan, and equal once equivalent knobs agree."""
    assert found.plan() == expected.plan()
    assert harmonize(found, expected) == expected, found.differences(expected)


# ----------------------------------------------------------------- TF checkpoints: slim or object-based

def test_slim_checkpoints_are_not_object_checkpoints(tmp_path):
    """First in this file: a slim graph built with tf-keras layers invalidates tf-keras models made before it."""
    from fixtures.slim_models import build_slim_checkpoint
    paths, _ = build_slim_checkpoint(tmp_path, "resnet_v1_18", 10, seed=0)
    assert convert.detect(paths["V2"]) == "slim" and not object_tree.is_object_checkpoint(paths["V2"])


# ----------------------------------------------------------------- recognition

@pytest.mark.parametrize("key,keras", [("001-resnet18", "3"), ("001-resnet18", "2"), ("001-resnet34-plain", "2"),
                                       ("001-resnet50", "2"), ("003-resnet18", "2"), ("003-inception10", "2"),
                                       ("004-resnet50-elu", "2"), ("004-resnet50-elu", "3")])
def test_each_seed_model_is_recognised_with_every_knob(key, keras):
    model, found = _recognised(key, keras)
    _same_network(found.description, EXPECTED[key])
    assert found.description.parameter_count() == model.count_params()
    assert not found.unused and len(found.tensors) == len(EXPECTED[key].tensors())
    used = [v for vs in found.tensors.values() for v in vs]
    assert len({id(v) for v in used}) == len(used) == len(model.weights)   # each variable is one tensor's


@pytest.fixture(scope="module")
def resnext():
    """Seed 002's ResNeXt (tf-keras, 1320 variables): built once, its build is the slowest of the seeds."""
    return _recognised("002-resnext")


def test_seed_002s_per_group_convs_are_one_grouped_conv_each(resnext):
    model, found = resnext
    _same_network(found.description, EXPECTED["002-resnext"])
    assert found.description.parameter_count() == 39_676_136 == model.count_params()
    grouped = found.grouped()
    assert sorted(grouped) == sorted(f"{u}/conv2/{p}" for u in found.description.endpoint_names()
                                     if u.startswith("stage") for p in ("kernel", "bias"))
    assert set(grouped.values()) == {32}
    assert len(found.tensors) == 328 and len(model.weights) == 1320
    kernels = found.tensors["stage2/unit1/conv2/kernel"]
    assert len(kernels) == 32 and tuple(kernels[0].shape) == (3, 3, 8, 8)


def test_recognition_reads_structure_not_names():
    """Variables map by what reads them: the seed's auto names (conv2d_17) carry no canonical meaning."""
    model, found = _recognised("001-resnet18", "3")
    names = found.variable_names()
    assert names["stem/conv/kernel"] == [model.layers[1].kernel.path]
    shortcut = names["stage2/unit1/shortcut/kernel"][0]
    assert shortcut.startswith("conv2d") and tuple(found.tensors["stage2/unit1/shortcut/kernel"][0].shape) == \
        (1, 1, 64, 128)
    assert set(found.endpoints) == set(found.description.endpoint_names())


def test_keras_applications_and_slimcompats_own_models_are_recognised():
    import keras
    from slimcompat.nets import keras_net
    stock = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    _same_network(recognize(stock).description, describe("ResNet50", softmax=True))
    variants = [describe("resnet_v2_50", num_classes=10), describe("inception10", activation="elu", elu_alpha=0.5),
                ResNet(depth=26, units=(2, 2, 2, 2), block="bottleneck", groups=8, width_per_group=4,
                       stem_pool="pad1", num_classes=5, add_act=False, shortcut_act=True, dropout=0.25)]
    for description in variants:
        for grouped in (("native", "split") if description.family == "resnet" and description.groups > 1
                        else ("native",)):
            model = keras_net.build(description, input_shape=(64, 64, 3), grouped=grouped)
            _same_network(recognize(model).description, description)


def test_what_no_family_has_is_reported_by_layer_and_op():
    import keras
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, name="c")(inputs)
    x = keras.layers.Activation("tanh", name="squash")(x)
    plain = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x)))
    with pytest.raises(RecognitionError, match="Tanh op .*squash.*no description has it"):
        recognize(plain)
    y = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    y = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(keras.layers.BatchNormalization()(y)))
    with pytest.raises(RecognitionError, match="plain network"):
        recognize(keras.Model(inputs, keras.layers.Dense(3)(y)))


def test_a_unit_unlike_the_others_is_named_not_averaged():
    """Knobs come from the first units; a later unit that differs is the first mismatch, named by its op."""
    import keras
    layers = keras.layers

    def unit(x, filters, strides, last):
        y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 3, strides, padding="same")(x)))
        y = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(y))
        s = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides)(x)) if strides > 1 or \
            x.shape[-1] != filters else x
        y = layers.Add()([y, s])
        return y if last else layers.ReLU(name=f"after_add_{filters}")(y)
    inputs = keras.Input((64, 64, 3))
    x = layers.MaxPooling2D(3, 2, padding="same")(layers.ReLU()(layers.BatchNormalization()(
        layers.Conv2D(64, 7, 2, padding="same")(inputs))))
    for i, filters in enumerate((64, 128, 256, 512)):
        x = unit(x, filters, 1 if i == 0 else 2, last=filters == 256)
    model = keras.Model(inputs, layers.Dense(4)(layers.GlobalAveragePooling2D()(x)))
    with pytest.raises(RecognitionError, match=r"where resnet_v1_10 expects relu \(stage3/unit1\)"):
        recognize(model)


def test_the_models_own_file_loads_all_or_nothing(tmp_path):
    model = seed_model("003-inception10", "2")
    found = recognize(model, (32, 32, 3))
    randomize(found.traced.variables.values(), seed=4)
    model.save_weights(str(tmp_path / "own.h5"))
    fresh = seed_model("003-inception10", "2")
    loaded = model_weights.load_file(fresh, tmp_path / "own.h5", input_shape=(32, 32, 3))
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), model.get_weights()))
    other = seed_model("003-resnet18", "2")
    other_found = recognize(other, (32, 32, 3))
    before = [np.asarray(v).copy() for v in other_found.traced.variables.values()]
    with pytest.raises(SlimcompatError, match="own.h5"):
        model_weights.load_file(other, tmp_path / "own.h5", input_shape=(32, 32, 3))
    assert all(np.array_equal(np.asarray(v), b) for v, b in zip(other_found.traced.variables.values(), before))
    assert loaded.description == found.description


def test_model_code_imports_files_beside_it_with_the_same_keras(tmp_path):
    (tmp_path / "blocks.py").write_text(
        "from tensorflow.keras import layers\n\n"
        "def conv_bn_relu(x, filters, strides=1):\n"
        "    x = layers.Conv2D(filters, 3, strides=strides, padding='same')(x)\n"
        "    return layers.Activation('relu')(layers.BatchNormalization()(x))\n")
    (tmp_path / "net.py").write_text(
        "import tensorflow as tf\nfrom blocks import conv_bn_relu\n\n"
        "def build(classes=3):\n"
        "    inputs = tf.keras.Input((32, 32, 3))\n"
        "    x = conv_bn_relu(inputs, 8)\n"
        "    return tf.keras.Model(inputs, tf.keras.layers.Dense(classes)(tf.keras.layers.Flatten()(x)))\n"
        "model = build()\nmodel.fit(None)\n")
    for keras, package in (("2", "tf_keras"), ("3", "keras")):
        model = model_code.load_model(f"{tmp_path / 'net.py'}:build(classes=5)", keras=keras)
        assert type(model).__module__.split(".")[0] == package and model.output_shape[-1] == 5


def test_model_code_runs_definitions_not_the_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = seed_model("003-resnet18")           # the program would train 5 epochs and write ./checkpoint
    assert type(model).__name__ == "ResNet" and not (tmp_path / "checkpoint").exists()
    assert not (tmp_path / "weights.txt").exists()
    assert model_code.keras_flavor(spec("003-resnet18").split(":")[0])[0] == "2"
    for bad, message in [("nowhere.py:model", "no such Python file"), (f"{spec('001-resnet18')}x", "is not"),
                         (spec("001-resnet18").replace(":model", ":Conv_BN_Relu"), "failed")]:
        with pytest.raises(SlimcompatError, match=message):
            model_code.load_model(bad)


# ----------------------------------------------------------------- weights in and out

@pytest.mark.parametrize("key,keras", [("001-resnet18", "3"), ("002-resnext", "2"), ("003-resnet18", "2"),
                                       ("003-inception10", "2")])
def test_seed_weights_round_trip_and_the_file_alone_rebuilds_the_model(key, keras, tmp_path, request):
    model, found = request.getfixturevalue("resnext") if key == "002-resnext" else _recognised(key, keras)
    randomize(found.traced.variables.values(), seed=3)
    images = np.random.default_rng(5).uniform(0, 1, (2, *SPECS[key][1])).astype(np.float32)
    expected = np.asarray(model(images, training=False)).reshape(2, -1)
    path = tmp_path / "w.h5"
    canonical.write(path, model_weights.read(model, found))
    weights = canonical.read(path)
    for name, variables in found.tensors.items():
        parts = np.split(weights.tensors[name], len(variables), axis=-1) if len(variables) > 1 else \
            [weights.tensors[name]]
        assert all(np.array_equal(np.asarray(v), p) for v, p in zip(variables, parts)), name
    if key == "002-resnext":
        with h5py.File(path) as f:
            assert f["tensors/stage1/unit1/conv2/kernel"].shape == (3, 3, 4, 128)
            count = []
            f["tensors"].visititems(lambda n, o: count.append(n) if isinstance(o, h5py.Dataset) else None)
            assert len(count) == 328
    rebuilt = keras_io.to_keras_model(weights, input_shape=SPECS[key][1])
    outputs = np.asarray(rebuilt(images, training=False)).reshape(2, -1)
    error = np.abs(outputs - expected).max() / np.abs(expected).max()
    print(f"\n{key} ({'Keras 3' if keras == '3' else 'tf-keras'}): model rebuilt from the canonical file vs the "
          f"user's model, max |diff| / max = {error:.2e}")
    assert error <= 1e-5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # a slim checkpoint cannot record the variant: said, not an error
        model_weights.to_file(model, tmp_path / "w.ckpt", input_shape=SPECS[key][1])
    slim = convert.load(tmp_path / "w.ckpt", arch=found.description)
    assert all(np.array_equal(slim.tensors[n], weights.tensors[n]) for n in weights.tensors)
    for v in found.traced.variables.values():
        v.assign(np.zeros(v.shape, np.float32))
    report = model_weights.write(model, weights, found)
    assert not report.differences
    again = np.asarray(model(images, training=False)).reshape(2, -1)
    assert np.array_equal(again, expected)


@pytest.fixture(scope="module")
def seed003_checkpoint(module_tmp):
    """Seed 003's ResNet18 trained one step under tf-keras and saved as ModelCheckpoint did: TF format, optimizer
    state included (TF 2.1's `ModelCheckpoint(save_weights_only=True)` to `.ckpt`)."""
    import tf_keras
    folder = module_tmp("seed003")
    model = seed_model("003-resnet18", "2")
    model.compile(optimizer="adam", loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=False))
    rng = np.random.default_rng(0)
    callback = tf_keras.callbacks.ModelCheckpoint(filepath=str(folder / "checkpoint" / "ResNet18.ckpt"),
                                                  save_weights_only=True)
    model.fit(rng.uniform(0, 1, (8, 32, 32, 3)), rng.integers(0, 10, (8, 1)), epochs=1, verbose=0,
              callbacks=[callback])
    return folder / "checkpoint" / "ResNet18.ckpt", model


def test_seed003_checkpoint_converts_with_and_without_its_code(seed003_checkpoint, tmp_path):
    path, trained = seed003_checkpoint
    assert convert.detect(path) == "object" and convert.detect(path.parent) == "object"
    model = seed_model("003-resnet18", "2")
    found = model_weights.load_file(model, path, input_shape=(32, 32, 3))
    with_code = model_weights.read(model, found)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), trained.get_weights()))
    with pytest.raises(SlimcompatError, match="does not record stem_stride, stem_pool, stage_strides.*give the "
                                              "model's code"):
        convert.load(path)
    without_code = convert.load(path, arch=EXPECTED["003-resnet18"])
    assert without_code.meta.source_kind == "tf-object-checkpoint"
    assert set(without_code.tensors) == set(with_code.tensors)
    assert all(np.array_equal(without_code.tensors[n], with_code.tensors[n]) for n in with_code.tensors)
    wrong = EXPECTED["003-resnet18"].replace(conv_bias=True)
    with pytest.raises(MappingError):
        convert.load(path, arch=wrong)


def test_seed002_checkpoint_without_code_takes_each_run_of_group_convs_as_one_kernel(resnext, tmp_path):
    model, found = resnext
    model.save_weights(str(tmp_path / "resnext.ckpt"))
    with pytest.raises(SlimcompatError, match="fit resnext_50_32x4d.*does not record"):
        convert.load(tmp_path / "resnext.ckpt")
    from_tree = convert.load(tmp_path / "resnext.ckpt", arch=EXPECTED["002-resnext"])
    exact = model_weights.read(model, found)
    assert all(np.array_equal(from_tree.tensors[n], exact.tensors[n]) for n in exact.tensors)
    assert "(32 groups)" in from_tree.sources["stage4/unit3/conv2/kernel"]


def test_imagenet_weights_into_seed001_resnet50_are_refused_then_loaded_when_allowed(fixture_files):
    source, _ = fixture_files.keras1_resnet50()
    weights = convert.load(source)
    model = seed_model("001-resnet50", "3")
    found = recognize(model)
    before = [np.asarray(v).copy() for v in model.weights]
    with pytest.raises(model_weights.StructureMismatch) as refused:
        model_weights.write(model, weights, found)
    message = str(refused.value)
    for said in ("stem stride 2 (model 1)", "stem pooling padding valid (model same)", "stage strides 1x2x2x2 "
                 "(model 2x2x2x2)", "activation after the add True (model False)", "Refused"):
        assert said in message
    assert all(np.array_equal(np.asarray(v), b) for v, b in zip(model.weights, before))   # nothing assigned
    with pytest.raises(model_weights.StructureMismatch):
        model_weights.from_file(model, source)
    report = model_weights.write(model, weights, found, allow_differences=True)
    assert {r.knob for r in report.differences} == {"stem_stride", "stem_pool", "stage_strides", "shortcut_act",
                                                    "residual_act", "add_act"}
    assert "although the networks differ" in report.lines()[0]
    assert np.array_equal(np.asarray(found.tensors["stage3/unit2/conv2/kernel"][0]),
                          weights.tensors["stage3/unit2/conv2/kernel"])


# ----------------------------------------------------------------- diff

def _row(result, knob):
    return next(r for r in result.rows if r.knob == knob)


def _reconciles(result):
    for field, total in (("params", result.params_a - result.params_b),
                         ("trainable", result.trainable_a - result.trainable_b),
                         ("macs", result.macs_a - result.macs_b)):
        assert sum(getattr(r, field) for r in result.rows) == total


def test_diff_explains_seed002s_parameters_against_resnext50(resnext):
    _, found = resnext
    result = structure_diff.diff(found.description, describe("resnext50_32x4d"))
    _reconciles(result)
    assert result.params_a == 39_676_136 and result.trainable_b == 25_028_904
    projection = _row(result, "projection")
    assert projection.params == 14_548_992 and len(projection.units) == 12 and "stage1/unit1" not in projection.units
    assert projection.outputs == "from stage1/unit2"
    assert _row(result, "conv_bias").params > 0 and _row(result, "shortcut_bn").params < 0
    assert _row(result, "shortcut_act").a is True and _row(result, "add_act").a is False
    assert result.trainable_a - result.trainable_b == sum(r.trainable for r in result.rows) == 14_586_688


def test_diff_of_seed001_resnet18_against_resnet18():
    result = structure_diff.diff(EXPECTED["001-resnet18"], describe("resnet18"))
    _reconciles(result)
    knobs = {r.knob for r in result.rows}
    assert {"stem_stride", "stage_strides", "shortcut_act", "add_act", "conv_bias", "dropout"} <= knobs
    assert _row(result, "stage_strides").units == ["stage1/unit1"]       # the stage-1 projection it creates
    assert _row(result, "dropout").outputs == "none (training only)"
    assert _row(result, "add_act").outputs == "from stage1/unit1"


def test_diff_of_seed004_against_keras_applications_resnet50():
    _, found = _recognised("004-resnet50-elu")
    result = structure_diff.diff(found.description, describe("ResNet50"))
    _reconciles(result)
    assert {r.knob for r in result.rows} == {"activation", "l2", "bn_epsilon", "stem_pool", "softmax"}
    assert result.params_a == result.params_b and all(r.params == 0 for r in result.rows)


@pytest.mark.parametrize("a,b", [("resnet18", "resnet50"), ("resnet_v2_101", "resnet_v1_50"),
                                 ("resnext101_32x8d", "ResNet152"), ("inception10", "resnet18"),
                                 ("keras1:resnet_v1_50", "ResNet50V2")])
def test_diff_rows_always_sum_to_the_totals(a, b):
    result = structure_diff.diff(describe(a), describe(b), input_hw=(96, 96))
    _reconciles(result)
    assert result.rows and structure_diff.diff(describe(a), describe(a)).same


# ----------------------------------------------------------------- parity with a user's model

def test_parity_of_a_user_model_names_structural_causes():
    from slimcompat.parity import check, inputs
    from slimcompat.parity.user_model import UserModel
    model = seed_model("003-resnet18", "2")
    side = UserModel(model, input_shape=(32, 32, 3))
    randomize(side.recognition.traced.variables.values(), seed=1)
    own = side.own_weights()
    batch = inputs.random_batch((2, 32, 32, 3), seed=2, pixels=False)
    same = check.parity(side, "keras-faithful", own, batch)
    assert same["ok"] and [r["endpoint"] for r in same["endpoints"]] == own.meta.description.endpoint_names()
    other = canonical.Weights(own.tensors, own.meta.replace(activation="elu", stem_pool="same"), own.sources)
    report = check.parity(side, "keras-faithful", own, batch, weights_b=other)
    causes = {f["cause"]: f for f in report["diagnosis"]}
    assert not report["ok"] and report["first_divergence"] == "stem"
    assert causes["activation"]["status"] == "found" and "A relu, B elu" in causes["activation"]["evidence"]
    assert causes["stem_pool"]["status"] == "found" and "multiply-adds" in causes["stem_pool"]["evidence"]


# ----------------------------------------------------------------- the command line

def test_convert_takes_the_model_code_for_a_seed003_checkpoint(seed003_checkpoint, tmp_path, cli):
    path, trained = seed003_checkpoint
    refused = cli("convert", path, tmp_path / "no.h5", check=False)
    error = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode == 3 and "does not record" in error and "TF-format" in error and "resnet_v2" not in error
    assert not (tmp_path / "no.h5").exists()
    out = cli("convert", path, tmp_path / "r18.h5", "--model", spec("003-resnet18"), "--input-shape",
                     "32,32,3").stdout
    assert "resnet_v1_18: 11,187,914 parameters" in out
    weights = canonical.read(tmp_path / "r18.h5")
    _same_network(weights.meta.description, EXPECTED["003-resnet18"])
    found = recognize(trained)
    assert all(np.array_equal(weights.tensors[n], np.asarray(v[0])) for n, v in found.tensors.items())


def test_convert_into_a_users_model_refuses_another_network_unless_allowed(fixture_files, tmp_path, cli):
    source, _ = fixture_files.keras1_resnet50()
    code = spec("001-resnet50")
    refused = cli("convert", source, tmp_path / "mine.weights.h5", "--model", code, "--keras", "3",
                         "--to", "model", check=False)
    assert refused.returncode == 3 and "stem stride 2 (model 1)" in refused.stderr and "Refused" in refused.stderr
    assert not (tmp_path / "mine.weights.h5").exists()
    allowed = cli("convert", source, tmp_path / "mine.weights.h5", "--model", code, "--keras", "3",
                         "--to", "model", "--allow-differences").stdout
    assert "although the networks differ" in allowed and "activation after the add: weights True, model False" \
        in allowed
    model = seed_model("001-resnet50", "3")
    model.load_weights(tmp_path / "mine.weights.h5")
    found = recognize(model)
    k1 = convert.load(source)
    assert all(np.array_equal(np.asarray(v[0]), k1.tensors[n]) for n, v in found.tensors.items())


def test_diff_command_writes_table_json_and_html(tmp_path, cli):
    proc = cli("diff", spec("001-resnet18"), "resnet18", "--json", tmp_path / "d.json", "--html",
                      tmp_path / "d.html", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "stem stride" in proc.stdout and "DIFFERENT:" in proc.stdout.splitlines()[-1]
    assert "A 11,708,328 = B 11,699,112 +9,216" in proc.stdout
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["schema"] == "slimcompat-diff/1" and report["parameters"]["difference"] == 9_216
    assert sum(r["params"] for r in report["rows"]) == 9_216
    page = (tmp_path / "d.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "stem stride" in page
    same = cli("diff", "resnet_v2_50", "resnet_v2_50", check=False)
    assert same.returncode == 0 and same.stdout.strip().splitlines()[-1].startswith("SAME")
    bad = cli("diff", "resnet_v2_50", "lenet5", check=False)
    assert bad.returncode == 2 and "lenet5" in bad.stderr


def test_parity_command_takes_a_users_model(cli):
    proc = cli("parity", "--model-a", spec("003-inception10"), "keras-faithful", "--batch", "1", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout.splitlines()[-1] and "A = model" in proc.stdout
    assert cli("parity", "--model-a", spec("003-inception10"), check=False).returncode == 2
