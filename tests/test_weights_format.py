"""The canonical format: write, read, validate, versions, checksums; the explicit transforms."""

import json
import os
import sys

import h5py
import numpy as np
import pytest

from conftest import run_python, slimcompat
from fixtures.weights import random_weights
from slimcompat.errors import MappingError, WeightsError
from slimcompat.weights import canonical, transforms


make_weights = random_weights


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
    (lambda f: f.attrs.__setitem__("format_version", "two"), "format_version 'two' is not supported"),
    (lambda f: f.attrs.__setitem__("description", f.attrs["description"].replace('"stem_pool": "same"',
                                                                              '"stem_pool": "avg"')),
     "stem_pool must be one of"),
    (lambda f: f.attrs.__setitem__("description", f.attrs["description"].replace('"bn_epsilon": 1e-05',
                                                                              '"bn_epsilon": "small"')),
     "bn_epsilon must be a number"),
    (lambda f: f.attrs.__setitem__("description", "{not json"), "'description' is not JSON"),
    (lambda f: f.attrs.__delitem__("description"), "'description' is missing"),
    (lambda f: f.attrs.__setitem__("input", '{"color": "RGB", "mean": [NaN, 0, 0], "std": [1, 1, 1]}'),
     "input mean needs 3 finite numbers"),
    (lambda f: f.attrs.__setitem__("input", '{"color": "RGB", "mean": ["a", 0, 0], "std": [1, 1, 1]}'),
     "input mean needs 3 finite numbers"),
    (lambda f: f.attrs.__setitem__("input", 'null'), "an input convention is"),
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
    assert f"valid slimcompat-canonical v{canonical.VERSION}, resnet_v2_50, 272 tensors" in \
        slimcompat("validate", path).stdout


def test_drop_background_removes_class_zero():
    w = make_weights()
    d = transforms.drop_background(w)
    assert d.meta.num_classes == 1000 and not d.meta.background_class
    assert np.array_equal(d.tensors["logits/kernel"], w.tensors["logits/kernel"][:, 1:])
    with pytest.raises(Exception, match="no background class"):
        transforms.drop_background(d)


def test_flip_color_twice_is_identity_and_tracks_the_convention():
    w = make_weights("resnet_v1_50", "keras")
    f = transforms.flip_color(w)
    assert f.meta.input.color == "RGB" and f.meta.input.mean[0] == 123.68
    assert np.array_equal(f.tensors["stem/conv/kernel"][:, :, 0], w.tensors["stem/conv/kernel"][:, :, 2])
    assert np.array_equal(transforms.flip_color(f).tensors["stem/conv/kernel"], w.tensors["stem/conv/kernel"])


def test_set_bn_epsilon_keeps_variance_plus_epsilon():
    w = make_weights("resnet_v1_50", "keras1")
    w.tensors = {n: (np.abs(t) if n.endswith("moving_variance") else t) for n, t in w.tensors.items()}
    e = transforms.set_bn_epsilon(w, 1.001e-5)
    name = "stage1/unit1/conv1/bn/moving_variance"
    np.testing.assert_allclose(e.tensors[name] + 1.001e-5, w.tensors[name] + 1e-3, rtol=1e-6)
    assert e.meta.bn_epsilon == 1.001e-5


def test_every_tensor_carries_a_checksum_and_a_flipped_bit_is_caught(tmp_path):
    path = tmp_path / "w.h5"
    canonical.write(path, make_weights())
    with h5py.File(path, "r") as f:
        dataset = f["tensors/stage2/unit1/conv2/kernel"]
        assert dataset.fletcher32
        chunk = dataset.id.get_chunk_info(0)
        offset, size = chunk.byte_offset, chunk.size
    data = bytearray(path.read_bytes())
    data[offset + size // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="stage2/unit1/conv2/kernel: checksum mismatch"):
        canonical.read(path)
    out = slimcompat("validate", path, check=False)
    assert out.returncode == 2 and "checksum mismatch" in out.stderr


def test_a_version_2_file_without_checksums_is_refused(tmp_path):
    path = tmp_path / "w.h5"
    canonical.write(path, make_weights())
    with h5py.File(path, "a") as f:
        value = f["tensors/logits/kernel"][()]
        del f["tensors/logits/kernel"]
        f["tensors/logits"].create_dataset("kernel", data=value)
    with pytest.raises(WeightsError, match="logits/kernel: no Fletcher-32 checksum"):
        canonical.read(path)


def test_version_1_files_still_read(tmp_path):
    """Format 1 (slimcompat 0.1): flat attributes, no description, no checksums."""
    w = make_weights()
    path = tmp_path / "v1.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": canonical.FORMAT, "format_version": 1, "architecture": "resnet_v2_50",
                        "num_classes": 1001, "background_class": True, "bn_epsilon": 1e-5,
                        "stride_placement": "last_unit_3x3", "stem_pool": "same", "conv_bias": False,
                        "input": json.dumps(w.meta.input.to_dict()), "source_kind": "slim-checkpoint-v1",
                        "source_file": "resnet_v2_50.ckpt", "source_sha256": "ab" * 32})
        group = f.create_group("tensors")
        for name, value in w.tensors.items():
            group.create_dataset(name, data=value)
    r = canonical.read(path)
    assert r.meta.description == w.meta.description and r.meta.input == w.meta.input
    assert all(np.array_equal(r.tensors[n], w.tensors[n]) for n in w.tensors)


@pytest.mark.parametrize("name,knobs", [
    ("resnet_v1_18", {}), ("resnext_50_32x4d", {}), ("inception10", {}),
    ("resnet_v1_50", {"activation": "elu", "bn_epsilon": 1e-3, "stem_pool": "valid"})])
def test_the_file_alone_rebuilds_the_description(tmp_path, name, knobs):
    w = make_weights(name, **knobs)
    canonical.write(tmp_path / "w.h5", w)
    r = canonical.read(tmp_path / "w.h5")
    assert r.meta.description == w.meta.description
    assert r.meta.description.to_dict() == w.meta.description.to_dict()


def test_a_grouped_kernel_is_stored_once_hwio(tmp_path):
    w = make_weights("resnext_50_32x4d")
    canonical.write(tmp_path / "w.h5", w)
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert f["tensors/stage1/unit1/conv2/kernel"].shape == (3, 3, 4, 128)
        assert f["tensors/stage4/unit3/conv2/kernel"].shape == (3, 3, 32, 1024)


def test_values_whose_sum_overflows_are_finite_and_inf_minus_inf_is_not(tmp_path):
    w = make_weights()
    w.tensors["logits/bias"] = np.full(w.tensors["logits/bias"].shape, 3e38, np.float32)
    w.tensors["postnorm/beta"] = np.full(w.tensors["postnorm/beta"].shape, 6e4, np.float16)
    canonical.write(tmp_path / "w.h5", w)
    r = canonical.read(tmp_path / "w.h5")
    assert np.array_equal(r.tensors["logits/bias"], w.tensors["logits/bias"])
    assert r.tensors["postnorm/beta"].dtype == np.float16
    bad = make_weights()
    bad.tensors["logits/bias"][:2] = [np.inf, -np.inf]  # their sum is NaN, not Inf
    with pytest.raises(WeightsError, match="logits/bias: 2 NaN or Inf values"):
        canonical.write(tmp_path / "bad.h5", bad)


def test_values_are_scanned_once_per_array_and_a_replaced_array_again(tmp_path, monkeypatch):
    canonical.write(tmp_path / "w.h5", make_weights())
    w = canonical.read(tmp_path / "w.h5")
    scanned = []
    check = canonical.check_values
    monkeypatch.setattr(canonical, "check_values", lambda name, *a, **k: scanned.append(name) or check(name, *a, **k))
    canonical.write(tmp_path / "again.h5", w)
    assert scanned == []
    replaced = w.tensors["stage2/unit1/conv2/kernel"].copy()
    replaced[0, 0, 0, 0] = np.nan
    w.tensors["stage2/unit1/conv2/kernel"] = replaced
    with pytest.raises(WeightsError, match="stage2/unit1/conv2/kernel: 1 NaN or Inf"):
        canonical.write(tmp_path / "bad.h5", w)
    assert scanned == ["stage2/unit1/conv2/kernel"] and not (tmp_path / "bad.h5").exists()
    dropped = transforms.drop_background(canonical.read(tmp_path / "w.h5"))
    scanned.clear()
    canonical.write(tmp_path / "dropped.h5", dropped)
    assert sorted(scanned) == ["logits/bias", "logits/kernel"]  # a transform's new arrays only


def test_chunks_written_directly_are_the_bytes_of_the_checksum_filter(tmp_path, monkeypatch):
    from slimcompat.weights import hdf5_chunks
    w = make_weights()
    w.tensors["logits/bias"] = w.tensors["logits/bias"].astype(np.float64)
    w.tensors["stem/conv/kernel"] = np.asfortranarray(w.tensors["stem/conv/kernel"])
    w.tensors["postnorm/gamma"] = w.tensors["postnorm/gamma"].astype(">f4")
    if sys.platform.startswith("linux"):
        assert hdf5_chunks.writer(w.tensors.values()) is not None
    canonical.write(tmp_path / "direct.h5", w)
    monkeypatch.setattr(hdf5_chunks, "writer", lambda arrays: None)
    canonical.write(tmp_path / "filter.h5", w)
    with h5py.File(tmp_path / "direct.h5", "r") as d, h5py.File(tmp_path / "filter.h5", "r") as f:
        for name in w.tensors:
            a, b = d["tensors/" + name], f["tensors/" + name]
            assert (a.dtype, a.chunks, a.fletcher32) == (b.dtype, b.chunks, b.fletcher32)
            assert a.id.read_direct_chunk((0,) * a.ndim) == b.id.read_direct_chunk((0,) * b.ndim)
            assert np.array_equal(a[()], w.tensors[name])  # HDF5 verifies the checksum as it reads
