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

import io
import json
import os
import pickle
import tarfile

import numpy as np

__all__ = ["write_datasets", "DATASET_FILES"]

# File name under ~/.keras/datasets: what writes it.
DATASET_FILES = {
    "mnist.npz": "_mnist",
    "imdb.npz": "_imdb",
    "reuters.npz": "_reuters",
    "cifar-10-python.tar.gz": "_cifar10",
}


def write_datasets(folder):
    """Write every stand-in into `folder` (skipping those already there); {file name: path}."""
    os.makedirs(folder, exist_ok=True)
    written = {}
    for name, maker in DATASET_FILES.items():
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            partial = path + ".partial"
            with open(partial, "wb") as handle:
                globals()[maker](handle)
            os.replace(partial, path)
        written[name] = path
    return written


def _mnist(handle, train=60000, test=10000):
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
    np.savez_compressed(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


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


def _cifar10(handle, rows=10000):
    rng = np.random.default_rng(3)
    prototypes = rng.integers(0, 256, (10, 3, 8, 8))
    with tarfile.open(fileobj=handle, mode="w:gz", compresslevel=6) as archive:
        def add(name, data):
            info = tarfile.TarInfo("cifar-10-batches-py/" + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            labels = np.arange(rows) % 10
            rng.shuffle(labels)
            small = np.clip(prototypes[labels] + rng.integers(-40, 40, (rows, 3, 8, 8)), 0, 255)
            images = small.repeat(4, axis=2).repeat(4, axis=3).astype(np.uint8).reshape(rows, 3072)
            add(name, pickle.dumps({b"batch_label": name.encode(), b"labels": labels.tolist(),
                                    b"data": images, b"filenames": [b"x.png"] * rows}, protocol=2))
        names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
        add("batches.meta", pickle.dumps({b"label_names": names, b"num_cases_per_batch": rows}, protocol=2))


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
