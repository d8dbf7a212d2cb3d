"""Tiny stand-ins for the data sets the era's programs download, in the real files' formats.

Keras' own loaders (`keras.datasets.*.load_data`, `get_file`) read these files
exactly as they read the real ones, so a program's data path runs unchanged;
only the contents are synthetic. Every set is learnable (each class or label
has its own pattern), so a loss that falls means the program trained.
MNIST and CIFAR-10 have their real sizes (programs hard-code 60000, and
CIFAR-10's loaders require 10,000 rows per batch file); their images are
upsampled low-resolution noise, so the files stay small. The shim, not the
data, caps how much of them a program trains on.
"""

import functools
import gzip
import io
import json
import os
import pickle
import struct
import tarfile

import numpy as np

__all__ = ["write_datasets", "DATASET_FILES", "VERSION"]

# Raised whenever a file's contents change, so a cache written by an earlier version is not reused.
VERSION = 2

# File name under ~/.keras/datasets: what writes it.
DATASET_FILES = {
    "mnist.npz": "_mnist",
    "imdb.npz": "_imdb",
    "reuters.npz": "_reuters",
    "cifar-10-python.tar.gz": "_cifar10",
    # TF 1.x's MNIST reader (tensorflow.contrib.learn / tutorials' input_data): the same digits as IDX files
    "train-images-idx3-ubyte.gz": "_idx_train_images",
    "train-labels-idx1-ubyte.gz": "_idx_train_labels",
    "t10k-images-idx3-ubyte.gz": "_idx_test_images",
    "t10k-labels-idx1-ubyte.gz": "_idx_test_labels",
}


def write_datasets(folder, names=None):
    """Write every stand-in (or those `names`) into `folder`, skipping those already there; {file name: path}."""
    os.makedirs(folder, exist_ok=True)
    written = {}
    for name, maker in DATASET_FILES.items():
        if names is not None and name not in names:
            continue
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            partial = path + ".partial"
            with open(partial, "wb") as handle:
                globals()[maker](handle)
            os.replace(partial, path)
        written[name] = path
    return written


@functools.lru_cache(maxsize=None)
def _mnist_arrays(train=60000, test=10000):
    """Full size: the era's programs hard-code 60000 and 10000 (`x_train.reshape(60000, 784)`)."""
    rng = np.random.default_rng(0)
    prototypes = (rng.random((10, 7, 7)) > 0.7) * 200

    def images(n):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        small = np.clip(prototypes[labels] + rng.integers(0, 60, (n, 7, 7)), 0, 255)
        return small.repeat(4, axis=1).repeat(4, axis=2).astype(np.uint8), labels.astype(np.uint8)

    x_train, y_train = images(train)
    x_test, y_test = images(test)
    return x_train, y_train, x_test, y_test


def _mnist(handle):
    x_train, y_train, x_test, y_test = _mnist_arrays()
    np.savez_compressed(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def _idx(handle, array):
    """An IDX file as Yann LeCun's page describes it, gzipped: magic 0x0801 (labels) or 0x0803 (images),
    big-endian dimensions, then the uint8 values."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as out:
        out.write(header + array.tobytes())


def _idx_train_images(handle):
    _idx(handle, _mnist_arrays()[0])


def _idx_train_labels(handle):
    _idx(handle, _mnist_arrays()[1])


def _idx_test_images(handle):
    _idx(handle, _mnist_arrays()[2])


def _idx_test_labels(handle):
    _idx(handle, _mnist_arrays()[3])


def _reviews(rng, n, classes, vocab=5000, cue_words=40):
    """(object array of word-rank lists, labels): each label's reviews favour its own cue words."""
    labels = np.arange(n) % classes
    rng.shuffle(labels)
    reviews = []
    for label in labels:
        length = int(rng.integers(20, 120))
        words = rng.integers(100, vocab, length)
        cues = rng.random(length) < 0.3
        words[cues] = 1 + label * cue_words + rng.integers(0, cue_words, int(cues.sum()))
        reviews.append([int(w) for w in words])
    array = np.empty(n, dtype=object)
    array[:] = reviews
    return array, labels.astype(np.int64)


def _imdb(handle):
    rng = np.random.default_rng(1)
    x_train, y_train = _reviews(rng, 640, 2)
    x_test, y_test = _reviews(rng, 160, 2)
    np.savez(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def _reuters(handle):
    rng = np.random.default_rng(2)
    x, y = _reviews(rng, 920, 46, cue_words=20)
    np.savez(handle, x=x, y=y)


_CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _cifar10(handle, rows=10000):
    """The cifar-10-python.tar.gz layout: cifar-10-batches-py/ with data_batch_1..5, test_batch, batches.meta.

    Each batch is a dict {'batch_label', 'labels', 'data', 'filenames'}: data a
    10000x3072 uint8 array (red, green, blue planes of 32x32), labels a list of
    ints 0-9; batches.meta holds label_names, num_cases_per_batch and num_vis
    (https://www.cs.toronto.edu/~kriz/cifar.html, "Dataset layout"). The files
    are Python 2 pickles (_Python2Pickler says how that shows).
    """
    rng = np.random.default_rng(3)
    prototypes = rng.integers(0, 256, (10, 3, 8, 8))
    with tarfile.open(fileobj=handle, mode="w:gz", compresslevel=6) as archive:
        def add(name, data):
            info = tarfile.TarInfo("cifar-10-batches-py/" + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        batches = [(f"data_batch_{i}", f"training batch {i} of 5") for i in range(1, 6)]
        for name, label in batches + [("test_batch", "testing batch 1 of 1")]:
            labels = np.arange(rows) % 10
            rng.shuffle(labels)
            small = np.clip(prototypes[labels] + rng.integers(-40, 40, (rows, 3, 8, 8)), 0, 255)
            images = small.repeat(4, axis=2).repeat(4, axis=3).astype(np.uint8).reshape(rows, 3072)
            add(name, _python2_pickle({
                "batch_label": label, "labels": [int(v) for v in labels], "data": images,
                "filenames": [f"{_CIFAR10_NAMES[v]}_s_{i:06d}.png" for i, v in enumerate(labels)]}))
        add("batches.meta", _python2_pickle({"label_names": _CIFAR10_NAMES, "num_cases_per_batch": rows,
                                             "num_vis": 3072}))


_RECONSTRUCT = np.zeros(0).__reduce__()[0]


class _Python2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2's cPickle wrote it, which is how the published CIFAR-10 batches are written.

    The CIFAR-10 page says the files were "produced with cPickle" and are read
    in Python 3 with `pickle.load(f, encoding='bytes')`: their strings are
    Python 2 `str` (SHORT_BINSTRING / BINSTRING opcodes, which that encoding
    turns into bytes, hence Keras' `k.decode('utf8')` of every key), and the
    data array is numpy's `numpy.core.multiarray._reconstruct(numpy.ndarray,
    ...)` with a str state. Keras 3 reads them with an unpickler that admits
    only numpy.ndarray, numpy.dtype and multiarray._reconstruct
    (keras/src/datasets/npz_utils.py), so Python 3's own protocol 2, which
    writes bytes as `_codecs.encode(str, 'latin1')`, is refused as malicious.
    Every str and bytes here is written as a Python 2 str.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = dispatch[bytes] = save_python2_str

    def save_global(self, obj, name=None):
        if obj is _RECONSTRUCT:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _python2_pickle(value):
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(value)
    return buffer.getvalue()


def write_text_corpora(folder):
    """The local text files pretrained_word_embeddings.py reads from its current folder: a GloVe
    file and a 20 Newsgroups tree (one folder per group, numbered posts with a header)."""
    rng = np.random.default_rng(4)
    groups = ["alt.atheism", "comp.graphics", "rec.autos", "sci.space"]
    words = [f"w{i}" for i in range(400)]
    glove = os.path.join(folder, "glove.6B")
    os.makedirs(glove, exist_ok=True)
    with open(os.path.join(glove, "glove.6B.100d.txt"), "w") as handle:
        for word in words:
            handle.write(word + " " + " ".join(f"{v:.4f}" for v in rng.normal(size=100)) + "\n")
    for g, group in enumerate(groups):
        path = os.path.join(folder, "20_newsgroup", group)
        os.makedirs(path, exist_ok=True)
        for post in range(60):
            body = [words[int(i)] for i in rng.integers(100, 400, 80)]
            body += [words[g * 25 + int(i)] for i in rng.integers(0, 25, 30)]
            rng.shuffle(body)
            with open(os.path.join(path, str(50000 + post)), "w") as handle:
                handle.write(f"From: someone@example.org\nSubject: post {post}\n\n" + " ".join(body) + "\n")


def sha256_of(paths):
    """{file name: sha256} of the given files."""
    from slimcompat.weights.canonical import sha256
    return {os.path.basename(path): sha256(path) for path in paths}


if __name__ == "__main__":
    import sys
    print(json.dumps(write_datasets(sys.argv[1]), indent=1))
