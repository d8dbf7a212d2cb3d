"""The batch both sides see, and each side's own preprocessing of it.

A batch is either pixels (RGB, 0..255: a seeded random batch, or an image file)
that each implementation preprocesses its own way, which is what users do and
how a preprocessing mismatch shows; or a model input fed to both sides as it is
(`preprocess=False`: a `.npy` batch of model inputs, or a seeded random batch in
[-1, 1]), which isolates the networks. The report states which.
"""

import pathlib

import numpy as np

from slimcompat.errors import SlimcompatError

__all__ = ["Batch", "random_batch", "load_batch", "preprocess"]


class Batch:
    """`values` [N, H, W, 3] float32; `pixels` True when they are 0..255 RGB pixels to preprocess."""

    def __init__(self, values, pixels, source):
        self.values, self.pixels, self.source = values, pixels, source

    def for_side(self, implementation):
        """What `implementation` is fed: its own preprocessing of pixels, or the values unchanged."""
        if not self.pixels:
            return self.values
        return preprocess(self.values, implementation.conventions.input)

    def describe(self):
        kind = "pixels, each side's own preprocessing" if self.pixels else "model input, preprocessing bypassed"
        return f"{self.source}, {kind}"


def preprocess(pixels, convention):
    """(pixels in the convention's colour order - mean) / std, for RGB pixels 0..255."""
    x = pixels[..., ::-1] if convention.color == "BGR" else pixels
    return ((x - np.asarray(convention.mean, np.float32)) / np.asarray(convention.std, np.float32)).astype(np.float32)


def random_batch(shape, seed=0, pixels=True):
    """Seeded batch of `shape` [N, H, W, 3]: pixels 0..255, or model inputs in [-1, 1]."""
    rng = np.random.default_rng(seed)
    low, high = (0.0, 255.0) if pixels else (-1.0, 1.0)
    values = rng.uniform(low, high, shape).astype(np.float32)
    return Batch(values, pixels, f"seeded random batch (seed {seed}, values in [{low:g}, {high:g}])")


def load_batch(path, size=None, preprocess_inputs=True):
    """A `.npy` batch [N, H, W, 3] or [H, W, 3], or an image file (decoded RGB, resized to `size`)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise SlimcompatError(f"{path}: no such input file")
    if path.suffix == ".npy":
        values = _npy(path)
    else:
        values = _image(path, size)
    if values.ndim == 3:
        values = values[None]
    if values.ndim != 4 or values.shape[-1] != 3:
        raise SlimcompatError(f"{path}: expected [N, H, W, 3] or [H, W, 3], found shape {list(values.shape)}")
    return Batch(values, preprocess_inputs, str(path))


def _npy(path):
    """A numeric .npy array as float32; pickled objects are never loaded (they could run code)."""
    try:
        values = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SlimcompatError(f"{path}: holds pickled Python objects, which are not loaded (unpickling "
                                  f"can run code); save a numeric array: np.save(path, np.asarray(x, "
                                  f"np.float32))") from None
        raise SlimcompatError(f"{path}: not a readable .npy array ({exc})") from None
    except (OSError, EOFError) as exc:
        raise SlimcompatError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
        raise SlimcompatError(f"{path}: expected a numeric array, found dtype {getattr(values, 'dtype', '?')}")
    return values.astype(np.float32)


def _image(path, size):
    import tensorflow as tf
    try:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError:
        raise SlimcompatError(f"{path}: not an image TensorFlow can decode (jpeg, png, gif, bmp) or a .npy") from None
    image = tf.cast(image, tf.float32)
    if size:
        image = tf.image.resize(image, size, method="bilinear")
    return image.numpy()
