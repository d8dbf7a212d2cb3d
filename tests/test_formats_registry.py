"""The registry of weight-file kinds: every kind round-trips, a kind added here is dispatched by the commands
without touching them, detection opens each file once, and the four targets judge differences by one policy."""

import builtins
import collections
import io
import json
import os
import pathlib
import warnings

import h5py
import numpy as np
import pytest

from fixtures.weights import random_weights
from slimcompat.arch import describe
from slimcompat.errors import SlimcompatError, WeightsRefusal
from slimcompat.weights import canonical, convert, fidelity, formats
from slimcompat.weights.metadata import Metadata

ARCH = "resnet_v1_18"
NAMES = {"canonical": "w.h5", "slim": "w.ckpt", "keras": "w.weights.h5", "torch": "w.safetensors"}
OPTIONS = {"torch": {"torch_target": "faithful"}}


@pytest.fixture(scope="module")
def weights():
    return random_weights(ARCH, source="slim", seed=3)


def _same_tensors(a, b):
    assert list(a.tensors) == list(b.tensors)
    for name in a.tensors:
        assert a.tensors[name].dtype == b.tensors[name].dtype and np.array_equal(a.tensors[name], b.tensors[name]), name


def test_every_kind_that_writes_is_named_here_and_object_checkpoints_are_read_only(tmp_path, weights):
    assert set(formats.kinds()) == {*NAMES, "object"}
    with pytest.raises(SlimcompatError, match="written by the model's own Keras"):
        convert.save(tmp_path / "x.ckpt", weights, "object")


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_every_kind_round_trips_detect_read_write_read(tmp_path, weights, kind):
    first, second = tmp_path / "a" / NAMES[kind], tmp_path / "b" / NAMES[kind]
    first.parent.mkdir(), second.parent.mkdir()
    assert formats.for_destination(first) == kind
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert.save(first, weights, kind, **OPTIONS.get(kind, {}))
        assert convert.detect(first) == kind
        back = convert.load(first)
        convert.save(second, back, kind, **OPTIONS.get(kind, {}))
    again = convert.load(second, kind)
    assert back.meta.architecture == again.meta.architecture == ARCH
    _same_tensors(weights, back)
    _same_tensors(back, again)


# ---------------------------------------------------------------- a kind added here

class _Npz(formats.Format):
    """A toy kind: tensors in an .npz beside the metadata, detected by its marker member."""

    name = "npzw"
    noun = "toy npz"
    suffixes = (".npzw",)
    MARKER = "slimcompat_toy.npy"

    def detect(self, probe):
        if not probe.head(4).startswith(b"PK"):
            return False
        with probe.zip() as archive:
            return self.MARKER in archive.namelist()

    def describe(self, path):
        return "a toy npz"

    def read(self, path, arch=None, use_ema=False, progress=None):
        with np.load(path) as data:
            meta = Metadata.from_attrs(json.loads(str(data["slimcompat_toy"])))
            tensors = {k.replace("|", "/"): data[k] for k in data.files if k != "slimcompat_toy"}
        return canonical.Weights(tensors, meta, {}).validate(str(path))

    def write(self, path, weights, overwrite=False, progress=None, **options):
        with open(path, "wb") as f:
            np.savez(f, slimcompat_toy=json.dumps(weights.meta.to_attrs()),
                     **{k.replace("/", "|"): v for k, v in weights.tensors.items()})
        return path


@pytest.fixture
def toy():
    entry = formats.register(_Npz())
    yield entry
    formats.unregister(entry.name)


def test_a_kind_registered_here_is_detected_converted_and_inspected_through_the_commands(tmp_path, weights, toy,
                                                                                        cli):
    src = tmp_path / "w.h5"
    convert.save(src, weights)
    assert "npzw" in convert.KINDS
    out = cli("convert", src, tmp_path / "w.npzw")
    assert out.returncode == 0 and "(npzw)" in out.stdout
    assert convert.detect(tmp_path / "w.npzw") == "npzw"
    shown = cli("inspect", tmp_path / "w.npzw", "--json")
    info = json.loads(shown.stdout)
    assert info["kind"] == "npzw" and info["tensors"] == len(weights.tensors)
    assert cli("convert", tmp_path / "w.npzw", tmp_path / "back.h5").returncode == 0
    _same_tensors(weights, canonical.read(tmp_path / "back.h5"))
    refused = cli("validate", tmp_path / "w.npzw", check=False)
    assert refused.returncode != 0 and "a toy npz, not a canonical file" in refused.stderr


def test_an_unregistered_kind_is_gone_from_detection_and_the_message_names_the_kinds_left(tmp_path, weights):
    path = tmp_path / "w.npzw"
    _Npz().write(path, weights)
    with pytest.raises(SlimcompatError, match="not a canonical file, slim checkpoint, Keras weight file or "
                                              "safetensors state_dict"):
        convert.detect(path)


# ---------------------------------------------------------------- detection opens a file once

@pytest.fixture
def opens(monkeypatch):
    counts = collections.Counter()
    real_open, real_file = builtins.open, h5py.File

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)):
            counts[os.path.realpath(file)] += 1
        return real_open(file, *args, **kwargs)

    class CountingFile(real_file):
        def __init__(self, name, *args, **kwargs):
            if isinstance(name, (str, os.PathLike)):
                counts[os.path.realpath(name)] += 1
            super().__init__(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(h5py, "File", CountingFile)
    return counts


@pytest.mark.parametrize("kind", ["canonical", "keras", "torch"])
def test_detect_opens_the_file_once(tmp_path, weights, opens, kind):
    path = tmp_path / NAMES[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        convert.save(path, weights, kind, **OPTIONS.get(kind, {}))
    opens.clear()
    assert convert.detect(path) == kind
    assert opens[os.path.realpath(path)] == 1, dict(opens)


@pytest.mark.parametrize("content", [b"", b"x" * 100, b"\x89HDF\r\n\x1a\n" + b"\0" * 100, b"PK\x03\x04" + b"\0" * 50,
                                     (40).to_bytes(8, "little") + b"{" + b" " * 39])
def test_detect_opens_a_file_of_no_kind_once_and_says_so(tmp_path, opens, content):
    path = tmp_path / "mystery.bin"
    path.write_bytes(content)
    opens.clear()
    with pytest.raises(SlimcompatError):
        convert.detect(path)
    assert opens[os.path.realpath(path)] <= 1, dict(opens)


def test_detect_opens_a_v1_checkpoint_and_a_v2_index_once(tmp_path, weights, opens):
    convert.save(tmp_path / "v1.ckpt", weights, "slim", slim_version="V1")
    convert.save(tmp_path / "v2.ckpt", weights, "slim")
    for given, read in ((tmp_path / "v1.ckpt", tmp_path / "v1.ckpt"),
                        (tmp_path / "v2.ckpt.index", tmp_path / "v2.ckpt.index"),
                        (tmp_path / "v2.ckpt", tmp_path / "v2.ckpt.index")):
        opens.clear()
        assert convert.detect(given) == "slim"
        assert opens[os.path.realpath(read)] <= 1, (given, dict(opens))


# ---------------------------------------------------------------- one policy for the four targets

def _other_strides(description):
    """The same network striding elsewhere: same tensors, another network."""
    return description.replace(stride_placement=next(p for p in ("last_unit_3x3", "first_unit_1x1")
                                                     if p != description.stride_placement))


def test_the_policy_follows_the_knobs_declared_effects():
    target = describe("resnet_v1_50")
    strides = _other_strides(target)
    verdict = fidelity.judge(target, strides, "built")
    assert [d.knob for d in verdict.refused] == ["stride_placement"] and not verdict.warned
    epsilon = target.replace(bn_epsilon=target.bn_epsilon * 2, l2=0.5)
    verdict = fidelity.judge(target, epsilon, "built")
    assert [d.knob for d in verdict.warned] == ["bn_epsilon"] and not verdict.refused   # l2: training, not judged
    slim = fidelity.judge(target, epsilon, "slim")
    assert [d.knob for d in slim.warned] == ["bn_epsilon"]                               # l2 ignored by slim
    biased = fidelity.judge(target, target.replace(conv_bias=True), "tf_slim")
    assert [(d.knob, d.effect) for d in biased.refused] == [("conv_bias", "shape")]
    assert not fidelity.judge(target, target.replace(conv_bias=True), "slim").refused


def test_all_four_targets_ask_the_one_policy(monkeypatch):
    from slimcompat.eager import variables
    from slimcompat.weights import keras_io, slim_checkpoint, torch_io
    asked = []
    real = fidelity.judge

    def spy(target, weights, policy):
        asked.append(policy)
        return real(target, weights, policy)
    monkeypatch.setattr(fidelity, "judge", spy)
    ours = describe("resnet_v1_50", source="slim")
    other = _other_strides(ours)
    source = random_weights("resnet_v1_50", source="slim")
    source = canonical.Weights(source.tensors, Metadata(other, source.meta.input), source.sources)

    class Layer:
        name, description = "layer", ours
    with pytest.raises(WeightsRefusal, match="same shapes, another network"):
        variables.load_weights(Layer(), source)                               # eager: a built SlimLayer
    with pytest.raises(WeightsRefusal, match="compute something else"):
        slim_checkpoint._check_slim_computes(source, pathlib.Path("x.ckpt"))  # tf_slim's own resnet_v1_50
    with pytest.raises(SlimcompatError, match="the networks differ"):
        keras_io._refuse_stride(source.meta, "keras.applications")            # the stock Keras ResNet50
    assert torch_io.torchvision_differences(other)[1]                         # torchvision's resnet50
    assert asked == ["built", "tf_slim", "built", "torchvision"]
