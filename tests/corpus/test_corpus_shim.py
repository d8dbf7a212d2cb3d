"""The corpus tier's own parts, quickly: the list is well formed and the shim caps and records what it says."""

import importlib.util
import io
import json
import os
import pickle
import pickletools
import re
import subprocess
import sys
import tarfile
import textwrap
import types

import numpy as np
import pytest

from slimcompat.testing import corpus as harness
from slimcompat.testing import corpus_data

PROGRAM = textwrap.dedent("""
    import numpy as np
    import tf_keras as keras
    from tf_keras.src.utils import data_utils
    x = np.random.rand(1000, 4).astype('float32')
    y = (x.sum(axis=1) > 2).astype('float32')
    model = keras.Sequential([keras.layers.Dense(1, activation='sigmoid', input_shape=(4,))])
    model.compile('sgd', 'binary_crossentropy')
    history = model.fit(x, y, batch_size=100, epochs=7, verbose=0)
    print('epochs run', len(history.history['loss']))
    print('synthetic accepted', data_utils.validate_file('data.bin', '0' * 64))
    print('other refused', not data_utils.validate_file('other.bin', '0' * 64))
""")


def test_list_is_well_formed():
    corpus = harness.load_list()
    names = [p["name"] for p in corpus["programs"]]
    assert len(names) == len(set(names))
    run = [p for p in corpus["programs"] if not p.get("skip")]
    assert len(run) >= 40
    for program in corpus["programs"]:
        if "own" in program:
            assert (harness.HERE / program["own"]).is_file(), program
        else:
            assert program["source"] in corpus["sources"] and re.fullmatch("[0-9a-f]{64}", program["sha256"])
        for key in ("loss_printed",):
            if key in program:
                re.compile(program[key])
        assert set(program.get("caps", {})) <= set(corpus["caps"]), program


def test_shim_caps_epochs_and_samples_records_them_and_accepts_only_synthetic_files(tmp_path):
    (tmp_path / "program.py").write_text(PROGRAM)
    (tmp_path / "data.bin").write_bytes(b"synthetic")
    (tmp_path / "other.bin").write_bytes(b"something else")
    (tmp_path / "synthetic.json").write_text(json.dumps({"data.bin": harness.sha256(tmp_path / "data.bin")}))
    env = dict(os.environ, PYTHONPATH=str(harness.HERE / "shim"), TF_CPP_MIN_LOG_LEVEL="2",
               SLIMCOMPAT_CORPUS_RECORD=str(tmp_path / "record.jsonl"),
               SLIMCOMPAT_CORPUS_SYNTHETIC=str(tmp_path / "synthetic.json"),
               SLIMCOMPAT_CORPUS_EPOCHS="2", SLIMCOMPAT_CORPUS_SAMPLES="300")
    proc = subprocess.run([sys.executable, "program.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "epochs run 2" in proc.stdout
    assert "synthetic accepted True" in proc.stdout and "other refused True" in proc.stdout
    events = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    caps = {(e["what"], str(e["from"]), str(e["to"])) for e in events if e["event"] == "cap"}
    assert caps == {("epochs", "7", "2"), ("x", "samples", "300"), ("y", "samples", "300")}
    fits = [e for e in events if e["event"] == "fit"]
    assert len(fits) == 1 and len(fits[0]["history"]["loss"]) == 2


@pytest.fixture
def shim(tmp_path):
    """The shim's module loaded here, without its import hook (that one is for the programs' processes)."""
    spec = importlib.util.spec_from_file_location("corpus_shim_under_test", harness.HERE / "shim" / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    hooks = list(sys.meta_path)
    spec.loader.exec_module(module)
    sys.meta_path[:] = hooks
    module._RECORD = str(tmp_path / "record.jsonl")
    module._EPOCHS, module._STEPS, module._SAMPLES = 2, 8, 512
    return module


class _Sequence:
    """A Keras Sequence's shape: a length in batches (ImageDataGenerator.flow's is 1563 on CIFAR-10)."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        return np.zeros((32, 2)), np.zeros(32)


class _Model:
    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None, steps_per_epoch=None,
            validation_steps=None, initial_epoch=0):
        self.seen = dict(x=x, y=y, epochs=epochs, validation_data=validation_data, steps_per_epoch=steps_per_epoch,
                         validation_steps=validation_steps)
        return types.SimpleNamespace(history={"loss": [2.0, 1.0]})

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, validation_data=None, validation_steps=None,
                      workers=1):
        self.seen = dict(generator=generator, epochs=epochs, validation_data=validation_data,
                         steps_per_epoch=steps_per_epoch, validation_steps=validation_steps)
        return types.SimpleNamespace(history={"loss": [2.0, 1.0]})

    def evaluate(self, x=None, y=None, batch_size=None, steps=None):
        self.seen = dict(x=x, y=y, steps=steps)
        return 0.5


def _patched_model(shim):
    """A fresh subclass each time: the shim marks what it wrapped, and each test has its own record."""
    cls = type("Model", (_Model,), {})
    shim._patch_model(types.SimpleNamespace(__name__="fake", Model=cls))
    return cls()


def _caps(tmp_path):
    events = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    return {(e["what"], e["from"], e["to"]) for e in events if e["event"] == "cap"}


def test_shim_caps_sequences_without_steps_and_validation_arrays_and_records_it(shim, tmp_path):
    model = _patched_model(shim)
    x_test, y_test = np.zeros((10000, 2)), np.zeros(10000)
    model.fit_generator(_Sequence(1563), epochs=200, validation_data=(x_test, y_test), workers=4)
    assert model.seen["steps_per_epoch"] == 8 and model.seen["epochs"] == 2
    assert [len(v) for v in model.seen["validation_data"]] == [256, 256]
    assert _caps(tmp_path) == {("epochs", 200, 2), ("steps_per_epoch", 1563, 8), ("validation_data", "samples", 256)}


def test_shim_caps_samples_to_steps_batches_validation_sequences_and_evaluate(shim, tmp_path):
    model = _patched_model(shim)
    model.fit(np.zeros((60000, 2)), np.zeros(60000), batch_size=16, epochs=2, validation_data=_Sequence(300))
    assert len(model.seen["x"]) == 128 and model.seen["validation_steps"] == 8
    model.fit([np.zeros((60000, 2))] * 2, np.zeros(60000), batch_size=128,
              validation_data=([np.zeros((10000, 2))] * 2, np.zeros(10000), None))
    assert [len(v) for v in model.seen["x"]] == [512, 512] and len(model.seen["y"]) == 512
    assert [len(v) for v in model.seen["validation_data"][0]] == [512, 512]
    model.fit(_Sequence(12), epochs=2)
    assert model.seen["steps_per_epoch"] is None
    model.evaluate(_Sequence(300))
    assert model.seen["steps"] == 8
    model.evaluate(np.zeros((10000, 2)), np.zeros(10000))
    assert len(model.seen["x"]) == 256
    assert _caps(tmp_path) == {("x", "samples", 128), ("y", "samples", 128), ("validation_steps", 300, 8),
                               ("x", "samples", 512), ("y", "samples", 512), ("validation_data", "samples", 512),
                               ("steps", 300, 8),
                               ("x", "samples", 256), ("y", "samples", 256)}


def test_shim_cuts_numpy_arrays_given_to_from_tensor_slices(shim, tmp_path):
    class DatasetV2:
        @staticmethod
        def from_tensor_slices(tensors, name=None):
            return tensors

    shim._patch_dataset(types.SimpleNamespace(DatasetV2=DatasetV2))
    features, labels = DatasetV2.from_tensor_slices(({"image": np.zeros((60000, 28, 28))}, np.zeros(60000)))
    assert features["image"].shape == (512, 28, 28) and labels.shape == (512,)
    assert len(DatasetV2.from_tensor_slices((np.zeros((600, 2)), ["name"] * 600))[0]) == 600
    assert len(DatasetV2.from_tensor_slices(np.zeros((500, 2)))) == 500
    assert _caps(tmp_path) == {("tensors", "samples", 512)}
    keras_internal = {"__name__": "keras.src.trainers.data_adapters.array_data_adapter", "D": DatasetV2,
                      "np": np}   # predict's adapter: the program's predictions must stay whole
    assert eval("len(D.from_tensor_slices(np.zeros((600, 2))))", keras_internal) == 600


def test_a_programs_own_caps_replace_the_tiers(tmp_path):
    script = tmp_path / "program.py"
    script.write_text("import os\nprint(os.environ['SLIMCOMPAT_CORPUS_EPOCHS'], os.environ['SLIMCOMPAT_CORPUS_STEPS'])\n")
    (tmp_path / "data").mkdir()
    outcome = harness.run({"name": "p", "caps": {"epochs": 40}}, "plain", script, tmp_path / "work", tmp_path / "data", {})
    caps = harness.load_list()["caps"]
    assert outcome.returncode == 0 and outcome.stdout.split() == ["40", str(caps["steps"])], outcome.stderr


def _nearest_mean_accuracy(x_train, y_train, x_test, y_test):
    x_train, x_test = (x.reshape(len(x), -1).astype(float) for x in (x_train, x_test))
    classes = np.unique(y_train)
    means = np.stack([x_train[y_train == k].mean(axis=0) for k in classes])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1)
    return (classes[distances.argmin(axis=1)] == y_test).mean()


def _bags(reviews, vocab=5000):
    counts = np.zeros((len(reviews), vocab))
    for row, words in enumerate(reviews):
        np.add.at(counts[row], words, 1)
    return counts


def test_synthetic_labels_follow_the_inputs():
    """Each set's test labels are told from its inputs by the training part's class means alone."""
    x_train, y_train, x_test, y_test = corpus_data._mnist_arrays(train=2000, test=500)
    assert _nearest_mean_accuracy(x_train, y_train, x_test, y_test) > 0.9
    handle = io.BytesIO()
    corpus_data._cifar10(handle, rows=500)
    handle.seek(0)
    with tarfile.open(fileobj=handle) as archive:
        batches = {m.name.rsplit("/", 1)[1]: pickle.load(archive.extractfile(m), encoding="bytes")
                   for m in archive.getmembers()}
    train, test = batches["data_batch_1"], batches["test_batch"]
    assert _nearest_mean_accuracy(train[b"data"], np.array(train[b"labels"]),
                                  test[b"data"], np.array(test[b"labels"])) > 0.9
    rng = np.random.default_rng(0)
    for classes, cue_words in ((2, 40), (46, 20)):
        x, y = corpus_data._reviews(rng, 920, classes, cue_words=cue_words)
        assert _nearest_mean_accuracy(_bags(x[:736]), y[:736], _bags(x[736:]), y[736:]) > 0.9


def test_synthetic_cifar10_is_a_python2_pickle_of_numpy_globals_only():
    """Keras 3 admits only numpy.ndarray, numpy.dtype and multiarray._reconstruct in a dataset pickle."""
    data = corpus_data._python2_pickle({"data": np.arange(600, dtype=np.uint8).reshape(2, 300), "labels": [1, 2],
                                        "batch_label": "training batch 1 of 5"})
    opcodes = {op.name for op, _, _ in pickletools.genops(data)}
    assert {"SHORT_BINSTRING", "BINSTRING"} <= opcodes and not {"BINUNICODE", "BINBYTES", "SHORT_BINBYTES"} & opcodes
    assert {arg for op, arg, _ in pickletools.genops(data) if op.name == "GLOBAL"} == {
        "numpy.core.multiarray _reconstruct", "numpy ndarray", "numpy dtype"}
    batch = pickle.loads(data, encoding="bytes")
    assert batch[b"batch_label"] == b"training batch 1 of 5" and batch[b"data"].shape == (2, 300)


@pytest.mark.slow
def test_synthetic_cifar10_loads_with_keras3_and_tf_keras(tmp_path, monkeypatch):
    files = corpus_data.write_datasets(str(tmp_path / "data"), names=["cifar-10-python.tar.gz"])
    archive = files["cifar-10-python.tar.gz"]
    digest = harness.sha256(archive)
    keras_home = tmp_path / "home" / ".keras"
    (keras_home / "datasets").mkdir(parents=True)
    for alias in ("cifar-10-python.tar.gz",) + harness._ALIASES["cifar-10-python.tar.gz"]:
        (keras_home / "datasets" / alias).symlink_to(archive)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    import keras
    import tf_keras
    from keras.src.backend import config
    from keras.src.utils import file_utils
    from tf_keras.src.utils import data_utils
    monkeypatch.setattr(config, "_KERAS_DIR", str(keras_home))
    for module in (file_utils, data_utils):
        monkeypatch.setattr(module, "validate_file", lambda path, *args, **kwargs: harness.sha256(path) == digest)
    for loader in (keras.datasets.cifar10.load_data, tf_keras.datasets.cifar10.load_data):
        (x_train, y_train), (x_test, y_test) = loader()
        assert x_train.shape == (50000, 32, 32, 3) and y_train.shape == (50000, 1) and x_test.shape[0] == 10000
        assert x_train.dtype == np.uint8 and sorted(set(y_test.ravel().tolist())) == list(range(10))


def test_loss_falls_is_judged_per_training_run_on_thirds():
    """Two networks trained one after the other (relu against selu) each start afresh; a long run's
    epoch-to-epoch noise does not decide, its trend does."""
    def outcome(*histories):
        return harness.Outcome("run", 0, 1.0, "", "", [{"event": "fit", "history": {"loss": h}} for h in histories])
    program = {"name": "p"}
    noisy = [3.87, 3.84, 3.84, 3.86, 3.83, 3.82, 3.81, 3.84, 3.80, 3.79, 3.80, 3.85]
    assert harness.meaning(program, outcome(noisy, [4.15, 4.08, 3.95, 3.90, 3.85, 3.71])) is None
    assert "fit 2 of 2" in harness.meaning(program, outcome(noisy, [3.7, 3.8, 3.9]))
    assert harness.meaning(program, outcome([2.0, 2.1])).startswith("loss did not fall")
    printed = {"name": "p", "loss_printed": r"loss ([0-9.]+)"}
    assert harness.meaning(printed, harness.Outcome("run", 0, 1.0, "loss 2.0\nloss 1.5\n", "", [])) is None
    assert harness.shape(printed, harness.Outcome("run", 0, 1.0, "loss 2.0\nloss 1.5\n", "", [])) == \
        {"printed losses": 2}
