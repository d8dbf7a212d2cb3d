"""Keras-era programs (seeds 001-004) through `slimcompat run`, and through plain python after `slimcompat migrate`.

The programs are the team's extractions in tests/seed_programs (each docstring
says which seed and lists the edits). `run` must give them Keras 2 (tf-keras)
and keep the TF2 ones eager; `migrate` must leave the files that run alone on
Keras 3 untouched and rewrite the others so that they run on Keras 3, resuming
from the checkpoints they wrote before.
"""

import hashlib
import json
import re
import textwrap

import h5py
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO, finish, run_python, slimcompat, start_python
from slimcompat import migrate

SEEDS = REPO / "tests" / "seed_programs"
PLAIN = ["seed001_resnet18.py", "seed001_resnet34_plain.py", "seed001_resnet34.py", "seed001_resnet50.py",
         "seed001_resnet101.py", "seed001_resnet152.py", "seed002_resnext.py"]
# The authors' printouts (seed 001 section 3-1-6, seed 002's summary).
AUTHORS_PARAMS = {"seed001_resnet18.py": 11_708_328, "seed002_resnext.py": 39_676_136}
ENV = {"MPLBACKEND": "Agg"}
WEIGHTS_NAME = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
PUBLISHED_MD5 = "a7b3fe01876f51b976af0dea6bc144eb"


def _total_params(text, kind="Total"):
    found = re.findall(kind + r" params: ([\d,]+)", text)
    assert found, text[-2000:]
    return int(found[-1].replace(",", ""))


@pytest.fixture(scope="module")
def migrated(module_tmp):
    """(folder of the migrated seed programs, the migrate Report)."""
    out = module_tmp("migrated")
    report = migrate.migrate_paths([SEEDS], output_dir=out)
    return out, report


def test_migrate_leaves_tf2_files_alone_and_rewrites_keras2_code(migrated, capsys):
    out, report = migrated
    assert report.errors == []
    for name in PLAIN:
        assert (out / name).read_bytes() == (SEEDS / name).read_bytes(), name
    changes = {(e.path.split("/")[-1], e.line, e.col): e.message for e in report.changes}
    assert changes[("seed003_resnet18.py", 87, 12)].startswith(
        "Changed 'tf.keras.layers.AveragePooling2D()' to 'tf.keras.layers.AveragePooling2D(pool_size=(2, 2))'")
    assert "'./checkpoint/Inception10.ckpt' to './checkpoint/Inception10.weights.h5'" in \
        changes[("seed003_inception10.py", 106, 23)]
    assert "weights_exist(checkpoint_save_path)" in changes[("seed003_inception10.py", 107, 3)]
    assert "slimcompat.keras2.load_weights(model, ...)" in changes[("seed003_inception10.py", 109, 4)]
    assert "'from keras.utils import get_source_inputs'" in changes[("seed004_resnet50_elu.py", 37, 0)]
    assert "obtain_input_shape as _obtain_input_shape" in changes[("seed004_resnet50_elu.py", 36, 0)]
    warnings = {(e.path.split("/")[-1], e.line): e.message for e in report.warnings}
    assert "training=False is hard-coded inside ConvBNAct.call()" in warnings[("seed003_inception10.py", 40)]
    assert "keras.utils.layer_utils" in warnings[("seed004_resnet50_elu.py", 32)]
    for name in ("seed003_inception10.py", "seed003_resnet18.py", "seed004_resnet50_elu.py"):
        text = (out / name).read_text()
        assert "disable_v2_behavior" not in text and text.count("import slimcompat.keras2") == 1
    again = migrate.migrate_paths([out])
    assert again.changes == [] and again.errors == []


@pytest.mark.programs
@pytest.mark.parametrize("name", PLAIN)
def test_tf2_programs_run_eager_on_keras2_and_plain_after_migrate(name, migrated, tmp_path):
    """Under `run`: TF2 eager with tf-keras (graph mode broke summary() and predict); after migrate
    (no change): plain python on Keras 3. Parameter counts equal, and equal the authors' printouts."""
    out, _ = migrated
    launched = start_python("-m", "slimcompat", "run", SEEDS / name, cwd=tmp_path)
    plain = start_python(out / name, cwd=tmp_path)
    launched, plain = finish(launched), finish(plain)
    banner = [line for line in launched.stderr.splitlines() if line.startswith("slimcompat run:")]
    assert len(banner) == 1 and "TF2, eager" in banner[0] and "Keras 2 (tf-keras" in banner[0], banner
    assert _total_params(launched.stdout) == _total_params(plain.stdout)
    if name in AUTHORS_PARAMS:
        assert _total_params(launched.stdout) == AUTHORS_PARAMS[name]
    assert "Layer (type)" in launched.stdout and "Param #" in plain.stdout


HISTORY = textwrap.dedent("""
    import json, sys
    from slimcompat.legacy.launcher import run_script
    namespace = run_script(sys.argv[1])
    json.dump(namespace["history"].history, open("history.json", "w"))
""")

RESUME = textwrap.dedent("""
    import json, runpy, sys
    import numpy as np
    import slimcompat.keras2 as keras2
    load = keras2.load_weights

    def load_then_evaluate(model, path, **kwargs):
        load(model, path, **kwargs)
        main = sys.modules["__main__"].__dict__
        result = model.evaluate(main["x_test"], main["y_test"], verbose=0, return_dict=True)
        json.dump({k: float(v) for k, v in result.items()}, open("after_load.json", "w"))
        np.savez("after_load.npz", **{v.path: v.numpy() for v in model.weights})

    keras2.load_weights = load_then_evaluate
    runpy.run_path(sys.argv[1], run_name="__main__")
""")


def _saved_model_arrays(prefix):
    """Every model array of a tf.keras TF-format checkpoint, read with TensorFlow alone."""
    reader = tf.train.load_checkpoint(str(prefix))
    keys = [k for k, _ in tf.train.list_variables(str(prefix))
            if k.endswith("/.ATTRIBUTES/VARIABLE_VALUE") and not k.startswith(("optimizer/", "save_counter"))]
    return [reader.get_tensor(k) for k in keys]


def _as_multiset(arrays):
    return sorted((a.shape, a.dtype.str, a.tobytes()) for a in arrays)


@pytest.mark.programs
def test_seed003_trained_on_tf_keras_resumes_on_keras3_after_migrate(migrated, tmp_path):
    """Trained under `run` (tf-keras, as TF 2.1 users did), migrated, run on Keras 3 with plain python:
    the first run's checkpoint is loaded, every array equal to what it saved, and evaluating right
    after loading gives the saved epoch's validation loss and accuracy, instead of starting again."""
    out, _ = migrated
    (tmp_path / "history_of.py").write_text(HISTORY)
    (tmp_path / "resume.py").write_text(RESUME)
    first = run_python("history_of.py", SEEDS / "seed003_inception10.py", cwd=tmp_path, env=ENV)
    assert "Keras 2 (tf-keras" in first.stderr
    history = json.loads((tmp_path / "history.json").read_text())
    saved_epoch = int(np.argmin(history["val_loss"]))
    saved = _saved_model_arrays(tmp_path / "checkpoint" / "Inception10.ckpt")
    assert len(saved) == 152  # 25 ConvBNAct x (kernel, bias, gamma, beta, moving mean and variance) + Dense

    second = run_python("resume.py", out / "seed003_inception10.py", cwd=tmp_path, env=ENV)
    assert "------------- load the model ------------" in second.stdout
    assert "Inception10.ckpt, written before migration" in second.stderr
    loaded = np.load(tmp_path / "after_load.npz")
    assert _as_multiset(loaded[k] for k in loaded.files) == _as_multiset(saved)
    after = json.loads((tmp_path / "after_load.json").read_text())
    assert after["loss"] == pytest.approx(history["val_loss"][saved_epoch], rel=1e-5, abs=1e-6)
    assert after["sparse_categorical_accuracy"] == history["val_sparse_categorical_accuracy"][saved_epoch]
    assert (tmp_path / "checkpoint" / "Inception10.weights.h5").is_file()

    third = run_python(out / "seed003_inception10.py", cwd=tmp_path, env=ENV)
    assert "------------- load the model ------------" in third.stdout
    assert "written before migration" not in third.stderr


@pytest.mark.programs
def test_seed003_resnet18_runs_and_resumes_after_migrate(migrated, tmp_path):
    """The ResNet18 program (AveragePooling2D() rewritten) both ways; slow: the program itself prints
    all 11 million weights to weights.txt (about 1.5 min a run here)."""
    out, _ = migrated
    slimcompat("run", SEEDS / "seed003_resnet18.py", cwd=tmp_path, env=ENV)
    assert (tmp_path / "checkpoint" / "ResNet18.ckpt.index").is_file()
    second = run_python(out / "seed003_resnet18.py", cwd=tmp_path, env=ENV)
    assert "--------------- load the model -----------------" in second.stdout
    assert (tmp_path / "checkpoint" / "ResNet18.weights.h5").is_file()
    assert _total_params(second.stdout, "Trainable") == 11_178_186  # Keras 3 adds optimizer params to its total


# ---------------------------------------------------------------- seed 004

@pytest.fixture(scope="module")
def keras1_file(fixture_files):
    """A stand-in for the 2016 Keras-1 ResNet50 file, as published in layout, not in values (so its
    md5 is not the published one), alone in a folder the user would name with --weights-dir (shared: read only)."""
    path, _ = fixture_files.keras1_resnet50()
    assert path.name == WEIGHTS_NAME and [p.name for p in path.parent.iterdir()] == [WEIGHTS_NAME]
    return path


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


SEED004 = textwrap.dedent("""
    import sys
    import numpy as np
    from slimcompat.legacy.launcher import RunOptions, run_script
    import runpy
    if sys.argv[2] == "run":
        namespace = run_script(sys.argv[1], options=RunOptions(weights_dirs=(sys.argv[3],),
                               trusted={"%s": sys.argv[4]}))
    else:
        namespace = runpy.run_path(sys.argv[1], run_name="__main__")
    model = namespace["model"]
    np.savez("arrays.npz", **{f"{layer.name}/{i}": w for layer in model.layers
                             for i, w in enumerate(layer.get_weights())})
    x = np.random.default_rng(0).standard_normal((2, 224, 224, 3)).astype(np.float32)
    np.save("predictions.npy", model.predict(x, verbose=0))
    print("keras", type(model).__module__.split(".")[0])
""" % WEIGHTS_NAME)


def _check_arrays_landed(arrays_npz, h5_path):
    """Every array of the Keras-1 file equals the model layer's weight of the same name and position."""
    landed = np.load(arrays_npz)
    count = 0
    with h5py.File(h5_path, "r") as f:
        for layer in f.attrs["layer_names"]:
            group = f[layer.decode()]
            for i, weight in enumerate(group.attrs["weight_names"]):
                assert np.array_equal(landed[f"{layer.decode()}/{i}"], group[weight.decode()][()]), weight
                count += 1
    return count


@pytest.mark.programs
def test_seed004_get_file_refuses_the_stand_in_unless_vouched(keras1_file, tmp_path):
    home = {"HOME": str(tmp_path), **ENV}
    refused = slimcompat("run", "--weights-dir", keras1_file.parent, SEEDS / "seed004_resnet50_elu.py",
                         cwd=tmp_path, env=home, check=False)
    errors = [line for line in refused.stderr.splitlines() if line.startswith("slimcompat: error:")]
    assert refused.returncode == 1 and len(errors) == 1 and "Traceback" not in refused.stderr
    md5 = hashlib.md5(keras1_file.read_bytes()).hexdigest()
    assert WEIGHTS_NAME in errors[0] and PUBLISHED_MD5 in errors[0] and md5 in errors[0]
    assert f"--trust-file {WEIGHTS_NAME}={_sha256(keras1_file)}" in errors[0]

    accepted = slimcompat("run", "--weights-dir", keras1_file.parent, "--trust-file",
                          f"{WEIGHTS_NAME}={_sha256(keras1_file)}", SEEDS / "seed004_resnet50_elu.py",
                          cwd=tmp_path, env=home)
    assert "used because --trust-file vouches" in accepted.stderr
    assert "Keras 2 (tf-keras" in accepted.stderr and "from keras.utils import layer_utils at" in accepted.stderr

    wrong = slimcompat("run", "--weights-dir", keras1_file.parent, "--trust-file", f"{WEIGHTS_NAME}={'0' * 64}",
                       SEEDS / "seed004_resnet50_elu.py", cwd=tmp_path, env=home, check=False)
    assert wrong.returncode == 1 and f"is not the vouched {'0' * 64}" in wrong.stderr


@pytest.mark.programs
def test_seed004_weights_land_exactly_under_run_and_after_migrate(keras1_file, migrated, tmp_path):
    """All 320 arrays of the Keras-1 file land by name in the ELU model, under `run` (tf-keras) and in
    the migrated program on Keras 3; the Keras 3 predictions equal the tf-keras ones."""
    out, _ = migrated
    sha = _sha256(keras1_file)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    (tmp_path / "seed004.py").write_text(SEED004)
    launched = start_python(tmp_path / "seed004.py", SEEDS / "seed004_resnet50_elu.py", "run", keras1_file.parent,
                            sha, cwd=tmp_path / "a", env={"HOME": str(tmp_path / "a"), **ENV})
    plain = start_python(tmp_path / "seed004.py", out / "seed004_resnet50_elu.py", "plain", cwd=tmp_path / "b",
                         env={"HOME": str(tmp_path / "b"), "SLIMCOMPAT_OFFLINE": "1",
                              "SLIMCOMPAT_WEIGHTS_DIR": str(keras1_file.parent),
                              "SLIMCOMPAT_TRUST_FILE": f"{WEIGHTS_NAME}={sha}", **ENV})
    launched, plain = finish(launched), finish(plain)
    assert "keras tf_keras" in launched.stdout and "keras keras" in plain.stdout
    assert _check_arrays_landed(tmp_path / "a" / "arrays.npz", keras1_file) == 320
    assert _check_arrays_landed(tmp_path / "b" / "arrays.npz", keras1_file) == 320
    keras2, keras3 = np.load(tmp_path / "a" / "predictions.npy"), np.load(tmp_path / "b" / "predictions.npy")
    assert keras2.shape == (2, 1000) and keras2.max() < 0.9 and np.abs(keras2[0] - keras2[1]).max() > 1e-3
    np.testing.assert_allclose(keras3, keras2, rtol=1e-4, atol=1e-6)
