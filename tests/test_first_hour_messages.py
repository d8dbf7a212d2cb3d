"""The first hour on a clean clone (issue 21): every refusal names the way out and exits 3, misspelt names
are refused with the closest one before TensorFlow loads, and what a file records is the default.

Sources: a canonical resnet_v1_18 of seeded random weights (slimcompat's own writer), its input size
32x32x3 recorded as weights/SPEC.md says (an `input_shape` attribute, set here with h5py so that the
same file reaches older readers, which ignore it, and this test shows what they do), a Keras-2 weight
file whose layer names are a user's own (keras_files.write_keras2_h5), and a model file that imports
TensorFlow at its top (never run by the refusals here).
"""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from fixtures.weights import random_weights
from slimcompat.cli.main import main
from slimcompat.weights import canonical, keras_files, keras_io

MODEL_CODE = """import tensorflow as tf

def build(classes=10):
    inputs = tf.keras.Input((32, 32, 3))
    return tf.keras.Model(inputs, tf.keras.layers.Dense(classes)(tf.keras.layers.Flatten()(inputs)))

model = build()
model.fit(None)
"""


@pytest.fixture(scope="module")
def files(module_tmp):
    root = module_tmp("first_hour")
    canonical.write(root / "r18_32.h5", random_weights("resnet_v1_18", "slim", seed=3))
    with h5py.File(root / "r18_32.h5", "a") as f:
        f.attrs["input_shape"] = "[32, 32, 3]"
    keras_files.write_keras2_h5(root / "mynet.h5", [
        ("my_conv", [("kernel", np.zeros((3, 3, 3, 8), np.float32))]),
        ("my_head", [("kernel", np.zeros((8, 10), np.float32))])])
    (root / "mynet.py").write_text(MODEL_CODE)
    return root


def cli(args):
    return main([str(a) for a in args])


def one_line(capsys, rc, code, *words):
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == code and len(err) == 1 and err[0].startswith("slimcompat: error:"), (rc, err)
    for word in words:
        assert str(word) in err[0], (word, err[0])
    return err[0]


# ---------------------------------------------------------------- refusals: the way out, exit 3

def test_a_users_own_names_point_to_the_model_code(files, tmp_path, capsys):
    own = files / "mynet.h5"
    one_line(capsys, cli(["convert", own, tmp_path / "out.h5"]), 3, "my_conv", "follow neither",
             "--model PATH.py:NAME", f"slimcompat convert {own} ")
    assert not (tmp_path / "out.h5").exists()
    one_line(capsys, cli(["inspect", own]), 3, "--model PATH.py:NAME")
    line = one_line(capsys, cli(["validate", own]), 2, "not a canonical file", "--model PATH.py:NAME")
    suggested = line.split("slimcompat convert ", 1)[1].split()
    assert suggested[0] == str(own) and suggested[1] != str(own)       # never the source as its own destination


def test_a_refusal_exits_3_and_bad_usage_2(files, tmp_path, capsys):
    line = one_line(capsys, cli(["convert", files / "r18_32.h5", tmp_path / "r18.safetensors"]), 3,
                    "not for torchvision's resnet18", "--faithful")
    assert not (tmp_path / "r18.safetensors").exists() and "slimcompat: error:" in line
    one_line(capsys, cli(["convert", tmp_path / "absent.h5", tmp_path / "x.h5"]), 2, "absent.h5")
    from slimcompat.errors import Refusal, WeightsRefusal
    assert issubclass(WeightsRefusal, Refusal) and Refusal.status == 3


# ---------------------------------------------------------------- names: the closest one, before TensorFlow

@pytest.mark.parametrize("args, words", [
    (["convert", "{r18}", "{tmp}/o.h5", "--arch", "resnet_v1_81"], ["resnet_v1_81", "did you mean resnet_v1_18?"]),
    (["parity", "slim-graph", "keras-faithful", "--arch", "resnet_v2_5O"], ["did you mean resnet_v2_50?"]),
    (["bench", "--arch", "ResNet50v2"], ["did you mean ResNet50V2?"]),
    (["diff", "resnet_v2_50", "resnet19"], ["'resnet19'", "did you mean resnet18?"]),
    (["diff", "{code}:buld", "resnet18"], ["mynet.py defines no 'buld'", "did you mean build?"]),
    (["convert", "{own}", "{tmp}/o.h5", "--model", "{code}:buld(classes=3)"], ["did you mean build?"]),
    (["parity", "--model-a", "{code}:modle", "keras-faithful"], ["did you mean model?"]),
    (["convert", "{own}", "{tmp}/o.h5", "--model", "{tmp}/absent.py:build"], ["absent.py: no such Python file"]),
    (["convert", "{r18}", "{tmp}/o.h5", "--arch", "kears1:resnet_v1_50"], ["did you mean keras1?"]),
])
def test_a_misspelt_name_suggests_the_closest(files, tmp_path, capsys, args, words):
    names = {"r18": files / "r18_32.h5", "own": files / "mynet.h5", "code": files / "mynet.py", "tmp": tmp_path}
    one_line(capsys, cli([a.format(**names) for a in args]), 2, *words)
    assert not (tmp_path / "o.h5").exists()


def test_misspelt_names_are_refused_before_tensorflow_loads(files, tmp_path):
    """In a fresh process (this one may have imported TensorFlow already): after each refusal, is it loaded?"""
    cases = [["parity", "slim-graph", "keras-faithful", "--arch", "resnet_v2_5O"],
             ["diff", f"{files / 'mynet.py'}:buld", "resnet18"],
             ["diff", "resnet_v2_50", "resnet19"],
             ["convert", str(files / "mynet.h5"), str(tmp_path / "o.h5"), "--model", f"{files / 'mynet.py'}:buld"],
             ["parity", "--model-a", f"{files / 'mynet.py'}:modle", "keras-faithful"],
             ["bench", "--arch", "resnet_v2_5O"]]
    script = ("import sys\nfrom slimcompat.cli.main import main\n"
              f"for args in {cases!r}:\n"
              "    rc = main(args)\n"
              "    print(rc, 'tensorflow' in sys.modules, flush=True)\n")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert out.stdout.split("\n")[:len(cases)] == ["2 False"] * len(cases), out.stdout + out.stderr
    assert out.stderr.count("did you mean") == len(cases), out.stderr


# ---------------------------------------------------------------- what a file records is the default

def _inspected(capsys, path):
    assert cli(["inspect", path]) == 0
    return {line[:13].strip(): line[14:] for line in capsys.readouterr().out.splitlines()}


def test_inspect_prints_no_hash_it_does_not_have(files, tmp_path, capsys):
    assert canonical.read(files / "r18_32.h5").meta.source_sha256 == ""      # as for a file converted --model
    assert "sha256" not in _inspected(capsys, files / "r18_32.h5")["source"]
    hashed = random_weights("resnet_v1_18", "slim", seed=3, source_sha256="ab" * 32)
    assert "sha256 abababab" in _inspected(capsys, canonical.write(tmp_path / "hashed.h5", hashed))["source"]


def test_a_recorded_input_size_is_kept_and_shown(files, tmp_path, capsys):
    weights = canonical.read(files / "r18_32.h5")
    assert weights.meta.input_shape == (32, 32, 3)
    assert canonical.read(canonical.write(tmp_path / "again.h5", weights)).meta.input_shape == (32, 32, 3)
    again = random_weights("resnet_v1_18", "slim", seed=3, input_shape=(64, 64, 3))
    assert canonical.read(canonical.write(tmp_path / "r64.h5", again)).meta.input_shape == (64, 64, 3)
    assert _inspected(capsys, files / "r18_32.h5")["input size"].startswith("32x32x3")


def test_diff_counts_at_the_recorded_size_unless_told(files, capsys):
    assert cli(["diff", files / "r18_32.h5", "resnet_v1_18"]) == 0
    assert "multiply-adds at 32x32:" in capsys.readouterr().out
    assert cli(["diff", files / "r18_32.h5", "resnet_v1_18", "--input-shape", "64,64,3"]) == 0
    assert "multiply-adds at 64x64:" in capsys.readouterr().out


def test_the_keras_model_and_parity_take_the_recorded_size(files, tmp_path, capsys):
    weights = canonical.read(files / "r18_32.h5")
    model = keras_io.to_keras_model(weights)
    assert tuple(model.input_shape) == (None, 32, 32, 3)
    assert tuple(keras_io.to_keras_model(weights, input_shape=(64, 64, 3)).input_shape) == (None, 64, 64, 3)
    from slimcompat.parity.reference import Reference
    saved = tmp_path / "ref.npz"
    assert cli(["parity", "keras-faithful", "--weights", files / "r18_32.h5", "--batch", "1",
                 "--save-reference", saved]) == 0, capsys.readouterr().err
    assert Reference(saved).batch.values.shape == (1, 32, 32, 3)


def test_weights_read_from_a_model_record_its_input_size():
    from slimcompat.arch import describe
    from slimcompat.nets import keras_net
    from slimcompat.structure import model_weights
    model = keras_net.build(describe("resnet_v1_18", num_classes=10), input_shape=(48, 48, 3))
    weights = model_weights.read(model)
    assert weights.meta.input_shape == (48, 48, 3) and weights.meta.source_sha256 == ""
