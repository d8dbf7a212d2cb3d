"""TF1's MNIST reader (`tensorflow.contrib.learn.python.learn.datasets.mnist`), gone with contrib in TF 2.

The TF 1.x tutorials and many programs of the era load MNIST with
`mnist.read_data_sets(train_dir, one_hot=True)` and train on
`data.train.next_batch(100)`. This is that reader, written from its documented
behaviour in TF 1.15: the four IDX files (`train-images-idx3-ubyte.gz`, ...;
big-endian magic 2051 for images, 2049 for labels), the first
`validation_size` training images held out as the validation set, images
flattened to 784 floats in [0, 1] (`reshape`, `dtype=float32`), and
`next_batch` shuffling once per epoch with NumPy's global generator, seeded
from TensorFlow's graph seed as TF1 did. A file missing from `train_dir` is
fetched with Keras' `get_file`, so `slimcompat run` answers it from local
files like every other download.
"""

import collections
import gzip
import os

import numpy

__all__ = ["DataSet", "Datasets", "read_data_sets", "load_mnist", "extract_images", "extract_labels",
           "dense_to_one_hot", "DEFAULT_SOURCE_URL"]

DEFAULT_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049
_MAX_ITEMS = 10_000_000   # IDX headers are read before allocation; MNIST has 70,000

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


def _read32(stream):
    return int(numpy.frombuffer(stream.read(4), dtype=numpy.dtype(">u4"))[0])


def _header(stream, name, magic, dims):
    found = _read32(stream)
    if found != magic:
        raise ValueError(f"{name}: IDX magic number {found}, expected {magic}")
    shape = [_read32(stream) for _ in range(dims)]
    if numpy.prod(shape, dtype=numpy.int64) > _MAX_ITEMS * 28 * 28:
        raise ValueError(f"{name}: IDX header declares shape {shape}, more than MNIST's reader takes")
    return shape


def extract_images(f):
    """Images of an IDX3 gzip stream as uint8 [count, rows, cols, 1]."""
    with gzip.GzipFile(fileobj=f) as stream:
        count, rows, cols = _header(stream, getattr(f, "name", "images"), _IMAGES_MAGIC, 3)
        data = numpy.frombuffer(stream.read(count * rows * cols), dtype=numpy.uint8)
        return data.reshape(count, rows, cols, 1)


def dense_to_one_hot(labels_dense, num_classes):
    """Class labels to one-hot rows."""
    one_hot = numpy.zeros((labels_dense.shape[0], num_classes))
    one_hot.flat[numpy.arange(labels_dense.shape[0]) * num_classes + labels_dense.ravel()] = 1
    return one_hot


def extract_labels(f, one_hot=False, num_classes=10):
    """Labels of an IDX1 gzip stream as uint8 [count] (or one-hot [count, num_classes])."""
    with gzip.GzipFile(fileobj=f) as stream:
        (count,) = _header(stream, getattr(f, "name", "labels"), _LABELS_MAGIC, 1)
        labels = numpy.frombuffer(stream.read(count), dtype=numpy.uint8)
        return dense_to_one_hot(labels, num_classes) if one_hot else labels


def _float32(dtype):
    import tensorflow as tf
    dtype = tf.as_dtype(dtype).base_dtype
    if dtype not in (tf.uint8, tf.float32):
        raise TypeError(f"Invalid image dtype {dtype!r}, expected uint8 or float32")
    return dtype == tf.float32


def _numpy_seed(seed):
    import tensorflow as tf
    seed1, seed2 = tf.compat.v1.get_seed(seed)
    numpy.random.seed(seed1 if seed is None else seed2)


class DataSet:
    """One split: `images`, `labels`, and `next_batch` over epochs, as TF1's tutorials used it."""

    def __init__(self, images, labels, fake_data=False, one_hot=False, dtype="float32", reshape=True,
                 seed=None):
        _numpy_seed(seed)
        if fake_data:
            self._num_examples, self.one_hot = 10000, one_hot
        else:
            if images.shape[0] != labels.shape[0]:
                raise ValueError(f"images.shape: {images.shape} labels.shape: {labels.shape}")
            self._num_examples = images.shape[0]
            if reshape:
                images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
            if _float32(dtype):
                images = numpy.multiply(images.astype(numpy.float32), 1.0 / 255.0)
        self._images, self._labels = images, labels
        self._epochs_completed = self._index_in_epoch = 0

    images = property(lambda self: self._images)
    labels = property(lambda self: self._labels)
    num_examples = property(lambda self: self._num_examples)
    epochs_completed = property(lambda self: self._epochs_completed)

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """The next `batch_size` examples; the order is reshuffled at each epoch's start."""
        if fake_data:
            image = [1] * 784
            label = [1] + [0] * 9 if self.one_hot else 0
            return [image] * batch_size, [label] * batch_size
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        if start + batch_size > self._num_examples:
            self._epochs_completed += 1
            rest = self._num_examples - start
            images_rest, labels_rest = self._images[start:], self._labels[start:]
            if shuffle:
                self._shuffle()
            self._index_in_epoch = batch_size - rest
            end = self._index_in_epoch
            return (numpy.concatenate((images_rest, self._images[:end]), axis=0),
                    numpy.concatenate((labels_rest, self._labels[:end]), axis=0))
        self._index_in_epoch += batch_size
        return self._images[start:self._index_in_epoch], self._labels[start:self._index_in_epoch]

    def _shuffle(self):
        order = numpy.arange(self._num_examples)
        numpy.random.shuffle(order)
        self._images, self._labels = self._images[order], self._labels[order]


def _local_or_fetched(train_dir, name, source_url):
    path = os.path.join(train_dir, name)
    if os.path.isfile(path):
        return path
    import keras
    return keras.utils.get_file(name, origin=source_url + name)


def read_data_sets(train_dir, fake_data=False, one_hot=False, dtype="float32", reshape=True,
                   validation_size=5000, seed=None, source_url=DEFAULT_SOURCE_URL):
    """Datasets(train, validation, test) from the IDX files in `train_dir` (fetched if missing)."""
    if fake_data:
        def fake():
            return DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed)
        return Datasets(train=fake(), validation=fake(), test=fake())
    arrays = []
    for index, name in enumerate(_FILES):
        with open(_local_or_fetched(train_dir, name, source_url or DEFAULT_SOURCE_URL), "rb") as f:
            arrays.append(extract_images(f) if index % 2 == 0 else extract_labels(f, one_hot=one_hot))
    train_images, train_labels, test_images, test_labels = arrays
    if not 0 <= validation_size <= len(train_images):
        raise ValueError(f"Validation size should be between 0 and {len(train_images)}. "
                         f"Received: {validation_size}.")
    options = dict(dtype=dtype, reshape=reshape, seed=seed)
    return Datasets(train=DataSet(train_images[validation_size:], train_labels[validation_size:], **options),
                    validation=DataSet(train_images[:validation_size], train_labels[:validation_size], **options),
                    test=DataSet(test_images, test_labels, **options))


def load_mnist(train_dir="MNIST-data"):
    return read_data_sets(train_dir)
