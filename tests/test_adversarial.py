"""Adversarial inputs and hostile moments, one class of attack each.

Truncated files, flipped bytes, crafted indexes, bad attributes, HDF5 links and
virtual datasets, declared-size and compression bombs, SIGKILL at every step
of a checkpoint install, and two writers racing for one name. Every refusal is
one line naming the file, raised before any tensor value is read where the
class allows it; no case leaves a destination half-written.

Sources: canonical files written by slimcompat (random resnet_v2_50 weights),
the Keras-1 ResNet50 layout (fixture writer), and tiny TF checkpoints saved by
`tf.compat.v1.train.Saver`; the damage is done to those files with h5py,
zipfile and byte edits. Kills are deterministic: a child process counts the
file-system calls of an install and SIGKILLs itself before call k, for every k.
"""

import os
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile

import h5py
import numpy as np
import pytest

from conftest import HANG
from fixtures.keras1_writer import write_keras1_resnet50
from fixtures.weights import random_weights
from slimcompat.errors import MappingError, WeightsError
from slimcompat.weights import canonical, convert, journal, keras_files, slim_checkpoint

KERNEL = "stage1/unit1/conv2/kernel"          # [3, 3, 64, 64]
KERAS1_CONV = ("res2a_branch2b", "res2a_branch2b_W:0")


def one_line(exc_info, *words):
    message = str(exc_info.value)
    assert "\n" not in message, message
    for word in words:
        assert str(word) in message, (word, message)
    return message


def cli_one_line(out, *words):
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("slimcompat: error:"), out.stderr
    for word in words:
        assert str(word) in lines[0], (word, lines[0])


@pytest.fixture(scope="module")
def files(module_tmp):
    """Pristine sources to damage copies of: canonical, Keras-1 h5, slim V2 and V1 checkpoints."""
    root = module_tmp("pristine")
    weights = random_weights("resnet_v2_50", "slim", seed=4)
    canonical.write(root / "w.h5", weights)
    write_keras1_resnet50(root / "k1.h5", include_top=False, seed=2)
    slim_checkpoint.write(root / "v2.ckpt", weights)
    slim_checkpoint.write(root / "v1.ckpt", weights, version="V1")
    return root


@pytest.fixture
def copy(files, tmp_path):
    def _copy(*names):
        for name in names:
            for source in files.glob(name + "*"):
                shutil.copy(source, tmp_path / source.name)
        return tmp_path / names[0]
    return _copy


# ---------------------------------------------------------------- truncation

def test_truncated_files_are_named_as_truncated(copy, tmp_path):
    def cut(path, keep):
        data = path.read_bytes()
        path.write_bytes(data[:keep(len(data))])

    h5 = copy("w.h5")
    cut(h5, lambda n: n // 2)
    with pytest.raises(WeightsError) as info:
        convert.load(h5)
    one_line(info, h5)
    prefix = copy("v2.ckpt")
    cut(tmp_path / "v2.ckpt.index", lambda n: n - 20)
    with pytest.raises(WeightsError) as info:
        convert.load(prefix)
    one_line(info, "v2.ckpt.index", "truncated or corrupt")
    assert "no such" not in str(info.value)
    cut(tmp_path / "v2.ckpt.index", lambda n: 0)
    assert convert.detect(prefix) == "slim"
    with pytest.raises(WeightsError) as info:
        convert.load(prefix)
    one_line(info, "truncated or corrupt")
    v1 = copy("v1.ckpt")
    cut(v1, lambda n: n - 100)
    with pytest.raises(WeightsError) as info:
        convert.load(v1)
    one_line(info, "v1.ckpt", "truncated")


def test_truncated_data_file_is_one_line_naming_a_tensor(copy, tmp_path):
    prefix = copy("v2.ckpt")
    data = next(tmp_path.glob("v2.ckpt.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
    with pytest.raises(WeightsError) as info:
        convert.load(prefix)
    one_line(info, "v2.ckpt", "truncated or corrupt")


def test_truncated_index_from_the_command_line(copy, tmp_path, cli):
    prefix = copy("v2.ckpt")
    index = tmp_path / "v2.ckpt.index"
    index.write_bytes(index.read_bytes()[:-20])
    cli_one_line(cli("convert", prefix, tmp_path / "out.h5", check=False), "truncated or corrupt")
    cli_one_line(cli("validate", prefix, check=False), "truncated or corrupt")
    assert not (tmp_path / "out.h5").exists()


# ---------------------------------------------------------------- flipped bytes

def test_flipped_bytes_are_caught(copy, tmp_path):
    prefix = copy("v2.ckpt")
    data = next(tmp_path.glob("v2.ckpt.data-*"))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    data.write_bytes(bytes(raw))
    with pytest.raises(WeightsError) as info:
        convert.load(prefix)
    one_line(info, "v2.ckpt")
    h5 = copy("w.h5")
    raw = bytearray(h5.read_bytes())
    raw[0] ^= 0xFF  # the HDF5 signature
    h5.write_bytes(bytes(raw))
    with pytest.raises(WeightsError) as info:
        convert.load(h5)
    one_line(info, "w.h5")


# ---------------------------------------------------------------- crafted indexes

def test_crafted_indexes_are_one_line(copy, tmp_path):
    prefix = tmp_path / "forged.ckpt"
    magic = (0xdb4775248b80fb57).to_bytes(8, "little")
    (tmp_path / "forged.ckpt.index").write_bytes(b"\0" * 40 + magic)
    (tmp_path / "forged.ckpt.data-00000-of-00001").write_bytes(b"\0" * 64)
    with pytest.raises(WeightsError) as info:
        convert.load(prefix)
    one_line(info, "forged.ckpt")
    # A real index paired with another checkpoint's data: the sizes and CRCs it records do not hold.
    mixed = copy("v2.ckpt")
    data = next(tmp_path.glob("v2.ckpt.data-*"))
    other = np.random.default_rng(0).integers(0, 255, data.stat().st_size, dtype=np.uint8)
    data.write_bytes(other.tobytes())
    with pytest.raises(WeightsError) as info:
        convert.load(mixed)
    one_line(info, "v2.ckpt")


# ---------------------------------------------------------------- bad attributes (Keras layout)

def test_bad_keras_attributes_are_one_line(copy, tmp_path):
    cases = {
        "missing_group.h5": (lambda f: f.attrs.__setitem__("layer_names", np.array([b"conv1", b"nowhere"])),
                             "nowhere"),
        "missing_weight.h5": (lambda f: f["conv1"].attrs.__setitem__("weight_names", np.array([b"conv1_Q:0"])),
                              "conv1_Q:0"),
        "numbers.h5": (lambda f: f.attrs.__setitem__("layer_names", np.arange(3)), "layer"),
    }
    source = copy("k1.h5")
    for name, (damage, word) in cases.items():
        path = tmp_path / name
        shutil.copy(source, path)
        with h5py.File(path, "r+") as f:
            damage(f)
        with pytest.raises(WeightsError) as info:
            convert.load(path)
        one_line(info, name, word)


# ---------------------------------------------------------------- links and virtual datasets

def _replace(path, name, make):
    with h5py.File(path, "r+") as f:
        shape, dtype = f[name].shape, f[name].dtype
        del f[name]
        make(f, name, shape, dtype)


def _external_link(other):
    def make(f, name, shape, dtype):
        with h5py.File(other, "w") as g:
            g["values"] = np.ones(shape, dtype)
        f[name] = h5py.ExternalLink(str(other), "/values")
    return make


def _virtual(other):
    def make(f, name, shape, dtype):
        layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
        layout[...] = h5py.VirtualSource(str(other), "values", shape=shape)  # missing file: reads as zeros
        f.create_virtual_dataset(name, layout, fillvalue=0)
    return make


def _soft_link(f, name, shape, dtype):
    f["elsewhere"] = np.ones(shape, dtype)
    f[name] = h5py.SoftLink("/elsewhere")


def _external_storage(f, name, shape, dtype):
    raw = f.filename + ".raw"
    np.ones(shape, dtype).tofile(raw)
    f.create_dataset(name, shape, dtype, external=[(raw, 0, h5py.h5f.UNLIMITED)])


@pytest.mark.parametrize("attack", ["external link", "virtual dataset", "soft link", "external storage"])
def test_values_from_outside_the_file_are_refused(copy, tmp_path, attack, cli):
    makers = {"external link": _external_link(tmp_path / "other.h5"), "virtual dataset": _virtual(tmp_path / "gone.h5"),
              "soft link": _soft_link, "external storage": _external_storage}
    h5 = copy("w.h5")
    _replace(h5, f"tensors/{KERNEL}", makers[attack])
    keras = copy("k1.h5")
    _replace(keras, "/".join(KERAS1_CONV), makers[attack])
    for path in (h5, keras):
        with pytest.raises(WeightsError) as info:
            convert.load(path)
        one_line(info, path.name, attack.split()[-1], "refusing")
    cli_one_line(cli("validate", h5, check=False), "refusing")
    cli_one_line(cli("inspect", keras, check=False), "refusing")


# ---------------------------------------------------------------- bombs

def _declare_huge(f, name, shape, dtype):
    f.create_dataset(name, shape=(1 << 40,), dtype=np.float32, chunks=(1 << 20,), compression="gzip")


def test_terabyte_declarations_are_refused_before_reading(copy, cli):
    h5 = copy("w.h5")
    _replace(h5, f"tensors/{KERNEL}", _declare_huge)
    keras = copy("k1.h5")
    _replace(keras, "/".join(KERAS1_CONV), _declare_huge)
    for path in (h5, keras):
        with pytest.raises(WeightsError) as info:
            convert.load(path)
        one_line(info, path.name, "4.0 TiB", "refusing before reading")
        cli_one_line(cli("inspect", path, check=False), "4.0 TiB")
    cli_one_line(cli("validate", h5, check=False), "4.0 TiB")


def test_names_and_shapes_are_checked_before_any_value_is_read(copy, monkeypatch):
    keras = copy("k1.h5")
    _replace(keras, "/".join(KERAS1_CONV), lambda f, name, shape, dtype: f.create_dataset(
        name, shape=(4096, 4096, 8), dtype=np.float32, chunks=(64, 64, 8), compression="gzip"))
    reads = []
    real = keras_files._dataset
    monkeypatch.setattr(keras_files, "_dataset", lambda *a: reads.append(a) or real(*a))
    with pytest.raises(MappingError) as info:
        convert.load(keras)
    one_line(info, "k1.h5")
    assert reads == []


def _keras_zip(path, weights_member, declared=None):
    """A .keras zip whose model.weights.h5 is deflated; `declared` patches its recorded inflated size."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", weights_member)
    if declared is not None:
        raw = bytearray(path.read_bytes())
        for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            at = raw.find(signature, raw.find(b"model.weights.h5") - 200 if signature == b"PK\x01\x02" else 0)
            while at >= 0:
                name_at = at + (30 if signature == b"PK\x03\x04" else 46)
                if raw[name_at:name_at + 16] == b"model.weights.h5":
                    raw[at + offset:at + offset + 4] = struct.pack("<I", declared)
                at = raw.find(signature, at + 4)
        path.write_bytes(bytes(raw))
    return path


def test_zip_bombs_are_refused_without_inflating(tmp_path, monkeypatch, cli):
    lying = _keras_zip(tmp_path / "lying.keras", b"\0" * 1000, declared=0xFFFFFFF0)
    with pytest.raises(WeightsError) as info:
        convert.load(lying)
    one_line(info, "lying.keras", "model.weights.h5", "refusing")
    cli_one_line(cli("inspect", lying, check=False), "refusing")
    monkeypatch.setattr(keras_files, "MAX_INFLATED", 1 << 20)
    bomb = _keras_zip(tmp_path / "bomb.keras", b"\0" * (16 << 20))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(WeightsError) as info:
        keras_files.read(bomb)
    one_line(info, "bomb.keras", "16.0 MiB", "refusing")
    short = _keras_zip(tmp_path / "short.keras", b"\0" * (1 << 16), declared=1000)
    with pytest.raises(WeightsError) as info:
        keras_files.read(short)
    one_line(info, "short.keras")


# ---------------------------------------------------------------- SIGKILL during an install

_KILLER = textwrap.dedent("""
    import os, shutil, signal, sys
    from slimcompat.weights import slim_checkpoint
    prefix, new, version, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    armed, calls = [False], [0]
    def counted(fn):
        def wrapper(*args, **kwargs):
            if armed[0]:
                if calls[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                calls[0] += 1
            return fn(*args, **kwargs)
        return wrapper
    for name in ("replace", "rename", "link", "unlink", "remove", "rmdir", "fsync", "write"):
        setattr(os, name, counted(getattr(os, name)))
    with slim_checkpoint.atomic_checkpoint(prefix, overwrite=True, version=version) as tmp:
        for f in os.listdir(new):
            shutil.copy(os.path.join(new, f), str(tmp) + f[len("new"):])
        armed[0] = True
    print("completed after", calls[0], "calls")
""")


def _save_small(prefix, value, version):
    import tensorflow as tf
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        w = v1.Variable(np.full((3, 4), value, np.float32), name="w")
        b = v1.Variable(np.full((4,), value, np.float32), name="b")
        with v1.Session() as s:
            s.run(v1.global_variables_initializer())
            v1.train.Saver([w, b], write_version=getattr(v1.train.SaverDef, version)).save(
                s, str(prefix), write_meta_graph=False, write_state=False)


def _restored(prefix):
    """The value the checkpoint at `prefix` holds as TensorFlow's own reader sees it, None if it cannot."""
    import tensorflow as tf
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        w, b = reader.get_tensor("w"), reader.get_tensor("b")
    except Exception:
        return None
    assert np.all(w == w.flat[0]) and np.all(b == w.flat[0])
    return float(w.flat[0])


@pytest.mark.slow
@pytest.mark.parametrize("old_version,new_version", [("V2", "V2"), ("V1", "V2"), ("V2", "V1")])
def test_sigkill_at_any_step_of_an_overwrite_loses_nothing(tmp_path, old_version, new_version):
    old_dir, new_dir, work = tmp_path / "old", tmp_path / "new", tmp_path / "work"
    for d in (old_dir, new_dir, work):
        d.mkdir()
    _save_small(old_dir / "model.ckpt", 1.0, old_version)
    _save_small(new_dir / "new", 2.0, new_version)
    prefix = work / "model.ckpt"
    outcomes = []
    for kill_at in range(60):
        shutil.rmtree(work)
        shutil.copytree(old_dir, work)
        proc = subprocess.run([sys.executable, "-c", _KILLER, str(prefix), str(new_dir), new_version, str(kill_at)],
                              capture_output=True, text=True, timeout=HANG)
        if proc.returncode == 0:
            assert "completed" in proc.stdout and _restored(prefix) == 2.0
            break
        assert proc.returncode == -9, proc.stderr
        seen = _restored(prefix)
        pending = journal.journal_path(prefix).exists()
        # TensorFlow alone sees the old or the new checkpoint, or nothing while an install is journaled.
        assert seen in (1.0, 2.0) or (seen is None and pending), (kill_at, seen, sorted(os.listdir(work)))
        if pending:  # a read refuses and changes nothing; recovery is its own step
            listing = sorted(os.listdir(work))
            with pytest.raises(WeightsError) as info:
                slim_checkpoint.open_reader(prefix)
            one_line(info, "interrupted install", "--recover")
            assert sorted(os.listdir(work)) == listing and _restored(prefix) == seen, kill_at
        assert slim_checkpoint.recover(prefix) == pending, kill_at
        after = _restored(prefix)
        assert after in (1.0, 2.0) and not journal.journal_path(prefix).exists(), (kill_at, after)
        assert after == 2.0 or seen == 1.0, kill_at  # nothing, or the new one, was never rolled back
        outcomes.append((seen, after))
    else:
        pytest.fail("the install never completed")
    assert (1.0, 1.0) in outcomes and any(after == 2.0 for _, after in outcomes), outcomes
    print(f"\n{old_version}->{new_version}: {len(outcomes)} kill points, (TF alone, after recovery): {outcomes}")


# ---------------------------------------------------------------- two writers, one new name

_RACER = textwrap.dedent("""
    import os, pathlib, shutil, sys, time
    from slimcompat.errors import WeightsError
    from slimcompat.weights import atomic, slim_checkpoint
    kind, target, me, barrier, payload = sys.argv[1:6]
    def wait_for_both():
        pathlib.Path(f"{barrier}.{me}").touch()
        while not all(pathlib.Path(f"{barrier}.{who}").exists() for who in ("a", "b")):
            time.sleep(0.001)
    try:
        if kind == "file":
            with atomic.atomic_output(target) as tmp:
                tmp.write_text(me)
                wait_for_both()
        else:
            with slim_checkpoint.atomic_checkpoint(target) as tmp:
                for f in os.listdir(payload):
                    shutil.copy(os.path.join(payload, f), str(tmp) + f[len("new"):])
                wait_for_both()
    except WeightsError as exc:
        print("refused:", exc)
        sys.exit(2)
    print("won")
""")


@pytest.mark.parametrize("kind", ["file", "checkpoint"])
def test_two_writers_racing_for_a_new_name_exactly_one_wins(tmp_path, kind):
    payload = tmp_path / "payload"
    payload.mkdir()
    if kind == "checkpoint":
        _save_small(payload / "new", 3.0, "V2")
    target = tmp_path / ("w.h5" if kind == "file" else "m.ckpt")
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, kind, str(target), me, str(tmp_path / "barrier"),
                                str(payload)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for me in ("a", "b")]
    results = [(r.wait(timeout=HANG), r.stdout.read(), r.stderr.read()) for r in racers]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    loser = next(out for code, out, _ in results if code == 2)
    assert "already exists" in loser and "\n" not in loser.strip()
    if kind == "file":
        winner = "ab"[[code for code, _, _ in results].index(0)]
        assert target.read_text() == winner
    else:
        assert _restored(target) == 3.0
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


# ---------------------------------------------------------------- leftovers of killed writers

def test_leftover_partials_are_cleaned_by_the_next_write_and_only_ours(tmp_path):
    from slimcompat.weights import atomic
    old = 1_000_000_000  # 2001: long abandoned
    stale_file = tmp_path / ".w.h5.abcd1234.partial"
    stale_dir = tmp_path / ".w.h5.zz_y9x8w.partial"
    young = tmp_path / ".w.h5.young123.partial"
    foreign = [tmp_path / ".w.h5.backup", tmp_path / ".other.h5.abcd1234.partial", tmp_path / "w.h5.partial"]
    stale_dir.mkdir()
    (stale_dir / "ckpt.index").write_bytes(b"x")
    for p in [stale_file, young, *foreign]:
        p.write_bytes(b"x" * 10)
    for p in [stale_file, stale_dir, stale_dir / "ckpt.index", *foreign]:
        os.utime(p, (old, old))
    with atomic.atomic_output(tmp_path / "w.h5") as tmp:
        tmp.write_bytes(b"new")
    assert not stale_file.exists() and not stale_dir.exists()
    assert young.exists() and all(p.exists() for p in foreign)
    assert (tmp_path / "w.h5").read_bytes() == b"new"


def test_a_live_writers_partial_folder_is_not_cleaned(tmp_path):
    from slimcompat.weights import atomic
    prefix = tmp_path / "m.ckpt"
    live = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, sys
        from slimcompat.weights import slim_checkpoint
        with slim_checkpoint.atomic_checkpoint({str(prefix)!r}) as tmp:
            open(str(tmp) + ".index", "wb").close()
            for p in (str(tmp) + ".index", str(tmp.parent)):
                os.utime(p, (1_000_000_000, 1_000_000_000))  # looks abandoned by age
            print(tmp.parent.name, flush=True)
            sys.stdin.readline()
            raise SystemExit(3)
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    name = live.stdout.readline().strip()
    try:
        assert name and atomic.clean_partials(prefix) == [] and (tmp_path / name).is_dir()
    finally:
        live.communicate("go\n", timeout=HANG)
    assert live.returncode == 3 and not (tmp_path / name).exists()


# ---------------------------------------------------------------- the source-hash child

def _children():
    """Processes whose parent is this one, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                found.append((int(entry), fields[0]))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to list child processes")
def test_the_hash_child_starts_after_validation_and_is_reaped(copy, tmp_path):
    assert _children() == []
    keras = copy("k1.h5")
    _replace(keras, "/".join(KERAS1_CONV), lambda f, name, shape, dtype: f.create_dataset(name, data=np.zeros(3)))
    prefix = tmp_path / "bad.ckpt"
    import tensorflow as tf
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v = v1.Variable(np.zeros(3, np.float32), name="resnet_v2_50/conv1/weights")
        with v1.Session() as s:
            s.run(v.initializer)
            v1.train.Saver([v]).save(s, str(prefix), write_meta_graph=False, write_state=False)
    for path in (keras, prefix):
        with pytest.raises(WeightsError):
            convert.load(path)
        assert _children() == [], path
    data = copy("v2.ckpt")
    shard = next(tmp_path.glob("v2.ckpt.data-*"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(WeightsError):
        convert.load(data)  # fails while reading tensors, after the child started
    assert _children() == []
