"""The canonical format, the architecture description and the naming schemes."""

import json
import os

import h5py
import numpy as np
import pytest

from conftest import run_python, slimcompat
from fixtures.weights import random_weights
from slimcompat.errors import MappingError, WeightsError
from slimcompat.nets.arch import ResNet, architectures
from slimcompat.weights import canonical, transforms
from slimcompat.weights.names import UnknownNameError, round_trip_failures, scheme


make_weights = random_weights


@pytest.mark.parametrize("arch", architectures() + [ResNet("resnet_v1", d, conv_bias=True) for d in (50, 152)],
                         ids=lambda a: f"{a.name}{'+bias' if a.conv_bias else ''}")
@pytest.mark.parametrize("scheme_name", ["slim", "keras"])
def test_every_tensor_round_trips_through_every_scheme(arch, scheme_name):
    assert round_trip_failures(scheme_name, arch, 1000) == []
    bound = scheme(scheme_name, arch)
    names = [bound.tensor(n) for n in arch.tensors(1000)]
    assert len(set(names)) == len(names)


def test_keras1_scheme_reproduces_the_published_names():
    arch = ResNet("resnet_v1", 50, conv_bias=True)
    assert round_trip_failures("keras1", arch, 1000) == []
    k1 = scheme("keras1", arch)
    assert k1.tensor("stem/conv/kernel") == "conv1_W:0"
    assert k1.tensor("stem/conv/bn/moving_variance") == "bn_conv1_running_std:0"
    assert k1.tensor("stage1/unit1/shortcut/kernel") == "res2a_branch1_W:0"
    assert k1.tensor("stage3/unit6/conv2/bn/gamma") == "bn4f_branch2b_gamma:0"
    assert k1.tensor("logits/bias") == "fc1000_b:0"


def test_unknown_names_are_refused_not_guessed():
    bound = scheme("slim", ResNet("resnet_v2", 50))
    for bad in ["resnet_v2_101/conv1/weights", "resnet_v2_50/block01/unit_1/bottleneck_v2/conv1/weights",
                "resnet_v2_50/conv1/kernel", "resnet_v2_50/global_step"]:
        with pytest.raises(UnknownNameError):
            bound.canonical_tensor(bad)


@pytest.mark.parametrize("family,depth,count,params", [
    ("resnet_v1", 50, 267, None), ("resnet_v2", 50, 272, 25_613_800), ("resnet_v2", 152, 816, None)])
def test_tensor_sets_match_the_real_implementations(family, depth, count, params):
    tensors = ResNet(family, depth).tensors(1000)
    assert len(tensors) == count
    if params:
        assert sum(int(np.prod(s)) for s in tensors.values()) == params


def test_keras_resnet50_tensor_set():
    tensors = ResNet("resnet_v1", 50, conv_bias=True).tensors(1000)
    assert len(tensors) == 320 and sum(int(np.prod(s)) for s in tensors.values()) == 25_636_712


def test_adding_a_depth_is_one_line():
    from slimcompat.nets import arch
    arch.UNITS[26] = (2, 2, 2, 2)
    try:
        assert round_trip_failures("slim", ResNet("resnet_v2", 26), 10) == []
    finally:
        del arch.UNITS[26]


def test_write_read_is_bit_identical_and_keeps_metadata(tmp_path):
    w = make_weights(source_kind="test", source_file="x.ckpt", source_sha256="ab" * 32)
    w.tensors["logits/bias"] = w.tensors["logits/bias"].astype(np.float64)
    canonical.write(tmp_path / "w.h5", w)
    r = canonical.read(tmp_path / "w.h5")
    assert r.meta == w.meta and r.sources == w.sources
    assert list(r.tensors) == list(w.tensors)
    for n in w.tensors:
        assert r.tensors[n].dtype == w.tensors[n].dtype and np.array_equal(r.tensors[n], w.tensors[n])


def test_written_files_get_the_usual_permissions(tmp_path):
    canonical.write(tmp_path / "w.h5", make_weights())
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "w.h5").stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_refuses_invalid_weights_and_leaves_nothing(tmp_path):
    w = make_weights()
    w.tensors["stage2/unit1/conv2/kernel"][0, 0, 0, 0] = np.inf
    with pytest.raises(WeightsError, match="stage2/unit1/conv2/kernel: 1 NaN or Inf"):
        canonical.write(tmp_path / "w.h5", w)
    del w.tensors["postnorm/gamma"]
    with pytest.raises(MappingError, match="1 missing .postnorm/gamma"):
        canonical.write(tmp_path / "w.h5", w)
    assert list(tmp_path.iterdir()) == []


def test_failure_during_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "w.h5"
    target.write_bytes(b"old")

    def boom(_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        canonical.write(target, make_weights(), overwrite=True, progress=boom)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["w.h5"]
    with pytest.raises(WeightsError, match="already exists"):
        canonical.write(target, make_weights())


def _tamper(path, fn):
    with h5py.File(path, "a") as f:
        fn(f)


@pytest.mark.parametrize("tamper,message", [
    (lambda f: f.attrs.__setitem__("format", "other"), "not a canonical weight file"),
    (lambda f: f.attrs.__setitem__("format_version", 99), "format_version 99 is not supported"),
    (lambda f: f.attrs.__setitem__("stem_pool", "avg"), "stem_pool must be one of"),
    (lambda f: f.attrs.__delitem__("bn_epsilon"), "'bn_epsilon' is missing"),
    (lambda f: f["tensors/logits"].__delitem__("bias"), r"1 missing \(logits/bias\)"),
    (lambda f: f["tensors"].create_dataset("extra/kernel", data=np.zeros(3, np.float32)), "1 unexpected"),
    (lambda f: (f["tensors/postnorm"].__delitem__("beta"),
                f["tensors/postnorm"].create_dataset("beta", data=np.zeros(5, np.float32))),
     r"postnorm/beta expected \(2048,\) found \(5,\)"),
    (lambda f: f["tensors/stem/conv/kernel"].__setitem__((0, 0, 0, 0), np.nan), "stem/conv/kernel: 1 NaN"),
])
def test_read_validates_everything(tmp_path, tamper, message):
    path = tmp_path / "w.h5"
    canonical.write(path, make_weights())
    _tamper(path, tamper)
    with pytest.raises(WeightsError, match=message):
        canonical.read(path)


def test_truncated_file_is_one_clear_error(tmp_path):
    path = tmp_path / "w.h5"
    canonical.write(path, make_weights())
    data = path.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="cut.h5"):
        canonical.read(tmp_path / "cut.h5")
    out = slimcompat("validate", tmp_path / "cut.h5", check=False)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "cut.h5" in out.stderr


def test_inspect_and_validate_do_not_import_tensorflow(tmp_path):
    path = tmp_path / "w.h5"
    canonical.write(path, make_weights())
    out = run_python("-c", f"""
import sys, io, json, contextlib
from slimcompat.cli.main import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    rc = main(['inspect', r'{path}', '--json'])
print(json.dumps({{"rc": rc, "tf": 'tensorflow' in sys.modules, "info": json.loads(buf.getvalue())}}))
""")
    result = json.loads(out.stdout)
    assert result["rc"] == 0 and result["tf"] is False
    assert result["info"]["parameters"] == 25_615_849 and result["info"]["background_class"] is True
    assert "valid slimcompat-canonical v1, resnet_v2_50, 272 tensors" in slimcompat("validate", path).stdout


def test_drop_background_removes_class_zero():
    w = make_weights()
    d = transforms.drop_background(w)
    assert d.meta.num_classes == 1000 and not d.meta.background_class
    assert np.array_equal(d.tensors["logits/kernel"], w.tensors["logits/kernel"][:, 1:])
    with pytest.raises(Exception, match="no background class"):
        transforms.drop_background(d)


def test_flip_color_twice_is_identity_and_tracks_the_convention():
    w = make_weights("resnet_v1_50", "keras:resnet_v1")
    f = transforms.flip_color(w)
    assert f.meta.input.color == "RGB" and f.meta.input.mean[0] == 123.68
    assert np.array_equal(f.tensors["stem/conv/kernel"][:, :, 0], w.tensors["stem/conv/kernel"][:, :, 2])
    assert np.array_equal(transforms.flip_color(f).tensors["stem/conv/kernel"], w.tensors["stem/conv/kernel"])


def test_set_bn_epsilon_keeps_variance_plus_epsilon():
    w = make_weights("resnet_v1_50", "keras1:resnet_v1")
    w.tensors = {n: (np.abs(t) if n.endswith("moving_variance") else t) for n, t in w.tensors.items()}
    e = transforms.set_bn_epsilon(w, 1.001e-5)
    name = "stage1/unit1/conv1/bn/moving_variance"
    np.testing.assert_allclose(e.tensors[name] + 1.001e-5, w.tensors[name] + 1e-3, rtol=1e-6)
    assert e.meta.bn_epsilon == 1.001e-5
