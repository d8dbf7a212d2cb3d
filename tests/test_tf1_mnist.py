"""TF1's MNIST reader (tensorflow.contrib.learn's `read_data_sets`), served under `run` and after `migrate`."""

import gzip
import struct
import textwrap

import numpy as np
import pytest

from conftest import slimcompat
from slimcompat import migrate
from slimcompat.legacy import tf1_mnist


def write_idx(folder, train=5100, test=20, seed=0):
    """The four MNIST IDX files (gzip, big-endian headers as published) of random digits; the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, count in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, count, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, count) + labels.tobytes())
        arrays[prefix] = images, labels
    return arrays


def test_read_data_sets_splits_scales_and_batches_as_tf1_did(tmp_path):
    arrays = write_idx(tmp_path)
    data = tf1_mnist.read_data_sets(str(tmp_path), one_hot=True, seed=1)
    assert (data.train.num_examples, data.validation.num_examples, data.test.num_examples) == (100, 5000, 20)
    assert data.validation.images.shape == (5000, 784) and data.validation.images.dtype == np.float32
    np.testing.assert_allclose(data.validation.images[0], arrays["train"][0][0].ravel() / 255.0, rtol=1e-6)
    assert data.test.labels.shape == (20, 10) and data.test.labels[3].argmax() == arrays["t10k"][1][3]
    seen = [data.train.next_batch(30) for _ in range(4)]   # 120 > 100: the 4th batch spans two epochs
    assert [len(x) for x, _ in seen] == [30, 30, 30, 30] and data.train.epochs_completed == 1
    first_epoch = np.concatenate([x for x, _ in seen])[:100]   # every training example once, shuffled
    expected = (arrays["train"][0][5000:].reshape(100, 784) * np.float32(1 / 255)).astype(np.float32)
    assert sorted(row.tobytes() for row in first_epoch) == sorted(row.tobytes() for row in expected)
    assert first_epoch.tobytes() != expected.tobytes()
    raw = tf1_mnist.read_data_sets(str(tmp_path), dtype="uint8", reshape=False, validation_size=0)
    assert raw.train.images.shape == (5100, 28, 28, 1) and raw.train.images.dtype == np.uint8


def test_a_damaged_header_is_one_error_naming_the_file(tmp_path):
    write_idx(tmp_path)
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2051, 20) + bytes(20))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: IDX magic number 2051, expected 2049"):
        tf1_mnist.read_data_sets(str(tmp_path))


PROGRAM = textwrap.dedent("""
    from tensorflow.contrib.learn.python.learn.datasets import mnist
    data = mnist.read_data_sets('MNIST_data', one_hot=True)
    x, y = data.train.next_batch(50)
    print('batch', x.shape, y.shape, data.test.images.shape)
""")


def test_migrate_points_the_import_at_the_served_reader():
    text, _ = migrate.migrate_source(PROGRAM)
    assert "from slimcompat.legacy import tf1_mnist as mnist" in text


@pytest.mark.slow
def test_the_reader_is_served_under_run_and_after_migrate(tmp_path):
    (tmp_path / "MNIST_data").mkdir()
    write_idx(tmp_path / "MNIST_data")
    (tmp_path / "prog.py").write_text(PROGRAM)
    expected = "batch (50, 784) (50, 10) (20, 784)"
    assert expected in slimcompat("run", tmp_path / "prog.py", cwd=tmp_path).stdout
    slimcompat("migrate", tmp_path / "prog.py", tmp_path / "migrated.py")
    from conftest import run_python
    assert expected in run_python(tmp_path / "migrated.py", cwd=tmp_path).stdout
