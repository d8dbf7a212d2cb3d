"""`get_file` inside `slimcompat run`: local files only, hashes checked, Keras' own caching and extraction."""

import hashlib
import io
import tarfile
import textwrap

import numpy as np
import pytest

from conftest import slimcompat

pytestmark = pytest.mark.programs  # whole era programs under run and migrated: tier programs

ORIGIN = "https://example.invalid/releases/"  # never reachable: any download attempt fails the test


def _digest(data, algorithm):
    return hashlib.new(algorithm, data).hexdigest()


def _script(write, keras, body):
    """A program on `keras` ("tf.keras" through tf-keras, or standalone Keras 3) that prints what get_file gives."""
    head = "import tensorflow as tf\nget_file = tf.keras.utils.get_file\n" if keras == "2" else \
        "import keras\nget_file = keras.utils.get_file\nkeras.ops.convert_to_tensor(1.0)\n"
    return write(f"fetch{keras}.py", head + textwrap.dedent(body))


@pytest.fixture
def home(tmp_path):
    """An empty HOME (tf-keras caches in ~/.keras, if it exists) and KERAS_HOME (Keras 3 caches there)."""
    (tmp_path / "home" / ".keras").mkdir(parents=True)
    return {"HOME": str(tmp_path / "home"), "KERAS_HOME": str(tmp_path / "home" / "keras_home")}


@pytest.mark.parametrize("keras, algorithm", [("2", "md5"), ("3", "sha256")])
def test_file_from_weights_dir_is_checked_and_cached_as_keras_would(write, tmp_path, home, keras, algorithm):
    data = b"pretend weights " * 100
    (tmp_path / "wd").mkdir()
    (tmp_path / "wd" / "w.bin").write_bytes(data)
    digest = _digest(data, algorithm)
    keyword = "md5_hash" if algorithm == "md5" else "file_hash"
    script = _script(write, keras, f"""
        path = get_file('w.bin', '{ORIGIN}w.bin', cache_subdir='models', {keyword}='{digest}')
        print('path', path, open(path, 'rb').read() == {data!r})
    """)
    out = slimcompat("run", "--weights-dir", tmp_path / "wd", script, cwd=tmp_path, env=home)
    cache = (tmp_path / "home" / ".keras") if keras == "2" else (tmp_path / "home" / "keras_home")
    assert f"path {cache / 'models' / 'w.bin'} True" in out.stdout
    again = slimcompat("run", script, cwd=tmp_path, env=home)  # now from the cache, no weights dir
    assert f"path {cache / 'models' / 'w.bin'} True" in again.stdout


@pytest.mark.parametrize("keras", ["2", "3"])
def test_missing_wrong_and_vouched_files(write, tmp_path, home, keras):
    data = b"not the published file"
    (tmp_path / "wd").mkdir()
    (tmp_path / "wd" / "model.h5").write_bytes(data)
    script = _script(write, keras, f"""
        path = get_file('model.h5', '{ORIGIN}model.h5', cache_subdir='models', md5_hash='{'a' * 32}')
        print('got', open(path, 'rb').read())
    """)
    missing = slimcompat("run", script, cwd=tmp_path, env=home, check=False)
    errors = [line for line in missing.stderr.splitlines() if line.startswith("slimcompat: error:")]
    assert missing.returncode == 1 and len(errors) == 1 and "Traceback" not in missing.stderr
    assert f"get_file: model.h5 (md5 {'a' * 32}) is not available offline" in errors[0]
    assert "--weights-dir" in errors[0] and "models" in errors[0]

    wrong = slimcompat("run", "--weights-dir", tmp_path / "wd", script, cwd=tmp_path, env=home, check=False)
    sha256 = _digest(data, "sha256")
    assert wrong.returncode == 1 and "got" not in wrong.stdout
    assert f"md5 {_digest(data, 'md5')} is not the expected {'a' * 32} for model.h5; refused" in wrong.stderr
    assert f"--trust-file model.h5={sha256}" in wrong.stderr

    vouched = slimcompat("run", "--weights-dir", tmp_path / "wd", "--trust-file", f"model.h5={sha256}", script,
                         cwd=tmp_path, env=home)
    assert f"got {data!r}" in vouched.stdout and "used because --trust-file vouches" in vouched.stderr
    other = slimcompat("run", "--weights-dir", tmp_path / "wd", "--trust-file", f"model.h5={'b' * 64}", script,
                       cwd=tmp_path, env={**home, "HOME": str(tmp_path)}, check=False)
    assert other.returncode == 1 and f"is not the vouched {'b' * 64}" in other.stderr


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("keras, call", [
    ("2", "get_file('flowers', '{o}flower_photos.tgz', untar=True, file_hash='{h}')"),
    ("3", "get_file('flowers', '{o}flower_photos.tgz', extract=True, file_hash='{h}')"),
])
def test_archives_are_extracted_by_keras_itself(write, tmp_path, home, keras, call):
    archive = _tar_gz({"flowers/roses/1.txt": b"rose"})
    (tmp_path / "wd").mkdir()
    (tmp_path / "wd" / "flower_photos.tgz").write_bytes(archive)
    script = _script(write, keras, f"""
        import os
        folder = {call.format(o=ORIGIN, h=_digest(archive, 'sha256'))}
        found = [os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs]
        print('FILES:', sorted(found))
    """)
    out = slimcompat("run", "--weights-dir", tmp_path / "wd", script, cwd=tmp_path, env=home)
    assert "roses/1.txt" in out.stdout.split("FILES:")[1]


def test_keras_datasets_load_data_comes_from_the_weights_dir(write, tmp_path, home):
    """mnist.load_data() calls get_file with the published sha256; a local stand-in is used once vouched."""
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), "y_train": np.arange(6, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    (tmp_path / "wd").mkdir()
    np.savez(tmp_path / "wd" / "mnist.npz", **arrays)
    sha256 = _digest((tmp_path / "wd" / "mnist.npz").read_bytes(), "sha256")
    script = write("mnist.py", textwrap.dedent("""
        import keras
        (x, y), (xt, yt) = keras.datasets.mnist.load_data()
        keras.ops.convert_to_tensor(1.0)
        print('mnist', x.shape, xt.shape, int(x.sum()))
    """))
    out = slimcompat("run", "--weights-dir", tmp_path / "wd", "--trust-file", f"mnist.npz={sha256}", script,
                     cwd=tmp_path, env=home)
    assert f"mnist (6, 28, 28) (2, 28, 28) {int(arrays['x_train'].sum())}" in out.stdout
    refused = slimcompat("run", "--weights-dir", tmp_path / "wd", script, cwd=tmp_path, env=home, check=False)
    assert refused.returncode == 1 and "mnist.npz; refused" in refused.stderr
