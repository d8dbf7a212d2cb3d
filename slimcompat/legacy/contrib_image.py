"""TF 1's `tf.contrib.image` projective transforms, gone with contrib in TF 2.

TF 1.x programs augmented images inside the graph with
`tf.contrib.image.rotate`, `translate` and `transform`, building the transforms
with `angles_to_projective_transforms` and `compose_transforms` (Keras 2.2.4's
cifar10_cnn_tfaugment2d.py does so in a Lambda layer). The kernel is still in
TF 2 as `ImageProjectiveTransformV3`, with a gradient; what went is this Python
layer, written here from TF 1.15's documented behaviour:

- A transform is 8 floats `[a0, a1, a2, b0, b1, b2, c0, c1]` mapping each
  *output* point (x, y) to the *input* point
  `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1`;
  one transform (shape (8,)) or one per image ((N, 8)).
- Images are HW, HWC or NHWC (rank known when the graph is built) of uint8,
  int32, int64, float16, float32 or float64; the result has the input's rank
  and dtype; points outside the input read as 0 (TF 2's CONSTANT fill with
  0, which reads each of the bilinear neighbours as TF 1's kernel did).
- Interpolation "NEAREST" (the default) or "BILINEAR", in either case.
- Rotation is counterclockwise in radians about the image centre
  ((width - 1) / 2, (height - 1) / 2); a translation [dx, dy] moves content
  right and down.
- `compose_transforms(t1, t2, ...)` is the matrix product t1 @ t2 @ ..., which
  applied by `transform` equals applying t1, then t2, ... in turn.

The rest of TF 1.15's `tf.contrib.image` (warps, splines, colour jitter in YIQ,
connected components, ...) moved to TensorFlow Addons or nowhere; naming one
fails with one line saying so (see NOT_SERVED).
"""

import tensorflow as tf

__all__ = ["transform", "rotate", "translate", "angles_to_projective_transforms",
           "translations_to_projective_transforms", "compose_transforms",
           "flat_transforms_to_matrices", "matrices_to_flat_transforms"]

_IMAGE_DTYPES = (tf.uint8, tf.int32, tf.int64, tf.float16, tf.float32, tf.float64)

NOT_SERVED = {
    "dense_image_warp": "TensorFlow Addons' tfa.image.dense_image_warp",
    "sparse_image_warp": "TensorFlow Addons' tfa.image.sparse_image_warp",
    "interpolate_spline": "TensorFlow Addons' tfa.image.interpolate_spline",
    "adjust_hsv_in_yiq": "TensorFlow Addons' tfa.image.adjust_hsv_in_yiq",
    "random_hsv_in_yiq": "TensorFlow Addons' tfa.image.random_hsv_in_yiq",
    "connected_components": "TensorFlow Addons' tfa.image.connected_components",
    "bipartite_match": "no TF 2 package",
    "single_image_random_dot_stereograms": "no TF 2 package",
}


def __getattr__(name):
    if name in NOT_SERVED:
        raise AttributeError(
            f"tensorflow.contrib.image.{name} is not provided by slimcompat (TF 2 moved it to "
            f"{NOT_SERVED[name]}); slimcompat serves tf.contrib.image's {', '.join(__all__)}")
    raise AttributeError(f"module 'tensorflow.contrib.image' has no attribute {name!r}")


def _as_batch(images):
    """(NHWC images, the rank they came in) for HW, HWC or NHWC input."""
    images = tf.convert_to_tensor(images, name="images")
    if images.dtype.base_dtype not in _IMAGE_DTYPES:
        raise TypeError(f"Invalid dtype {images.dtype.name} for tf.contrib.image: expected one of "
                        f"{', '.join(d.name for d in _IMAGE_DTYPES)}")
    rank = images.shape.rank
    if rank is None:
        raise TypeError("tf.contrib.image: the rank of the images must be known when the graph is built")
    if rank == 2:
        return images[None, :, :, None], rank
    if rank == 3:
        return images[None], rank
    if rank == 4:
        return images, rank
    raise TypeError(f"tf.contrib.image: images should have rank between 2 and 4, found rank {rank}")


def _from_batch(output, rank):
    if rank == 2:
        return output[0, :, :, 0]
    if rank == 3:
        return output[0]
    return output


def _rows(values, name, rank_one, error):
    """`values` as float32 rows: a tensor of rank `rank_one` gains a leading axis of 1."""
    values = tf.convert_to_tensor(values, name=name, dtype=tf.float32)
    rank = values.shape.rank
    if rank == rank_one:
        return values[None]
    if rank == rank_one + 1:
        return values
    raise TypeError(f"{error}, found rank {rank}")


def transform(images, transforms, interpolation="NEAREST", output_shape=None, name=None):
    """Apply projective transform(s) (output point -> input point, see the module doc) to image(s).

    output_shape: [height, width] of the result; the input's by default.
    """
    with tf.name_scope(name or "transform"):
        batch, rank = _as_batch(images)
        transforms = _rows(transforms, "transforms", 1, "tf.contrib.image: transforms should have rank 1 or 2")
        if output_shape is None:
            static = batch.shape[1:3]
            output_shape = static.as_list() if static.is_fully_defined() else tf.shape(batch)[1:3]
        output_shape = tf.convert_to_tensor(output_shape, tf.int32, name="output_shape")
        if not output_shape.shape.is_compatible_with([2]):
            raise ValueError("tf.contrib.image.transform: output_shape must be a 1-D Tensor of 2 elements: "
                             "new_height, new_width")
        output = tf.raw_ops.ImageProjectiveTransformV3(
            images=batch, transforms=transforms, output_shape=output_shape,
            fill_value=tf.constant(0.0, tf.float32), interpolation=interpolation.upper(),
            fill_mode="CONSTANT")
        return _from_batch(output, rank)


def rotate(images, angles, interpolation="NEAREST", name=None):
    """Rotate image(s) counterclockwise by angle(s) in radians (one, or one per image) about their centre."""
    with tf.name_scope(name or "rotate"):
        batch, rank = _as_batch(images)
        shape = tf.cast(tf.shape(batch), tf.float32)
        transforms = angles_to_projective_transforms(angles, shape[1:2], shape[2:3])
        return _from_batch(transform(batch, transforms, interpolation=interpolation), rank)


def translate(images, translations, interpolation="NEAREST", name=None):
    """Translate image(s) by [dx, dy] (one, or one per image): content moves right by dx, down by dy."""
    with tf.name_scope(name or "translate"):
        return transform(images, translations_to_projective_transforms(translations),
                         interpolation=interpolation)


def angles_to_projective_transforms(angles, image_height, image_width, name=None):
    """(N, 8) transforms rotating counterclockwise by `angles` (scalar or vector, radians) about the
    centre of images of the given height and width."""
    with tf.name_scope(name or "angles_to_projective_transforms"):
        angles = tf.convert_to_tensor(angles, name="angles", dtype=tf.float32)
        if angles.shape.rank == 0:
            angles = angles[None]
        elif angles.shape.rank != 1:
            raise TypeError(f"tf.contrib.image: angles should have rank 0 or 1, found rank {angles.shape.rank}")
        cos, sin = tf.cos(angles), tf.sin(angles)
        last_x, last_y = image_width - 1, image_height - 1
        # The output centre maps to the input centre: offset = c - R c, c = (last_x, last_y) / 2.
        x_offset = (last_x - (cos * last_x - sin * last_y)) / 2.0
        y_offset = (last_y - (sin * last_x + cos * last_y)) / 2.0
        zeros = tf.zeros_like(angles)
        return tf.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)


def translations_to_projective_transforms(translations, name=None):
    """(N, 8) transforms for translations [dx, dy] (one, or an (N, 2) batch)."""
    with tf.name_scope(name or "translations_to_projective_transforms"):
        translations = _rows(translations, "translations", 1,
                             "tf.contrib.image: translations should have rank 1 or 2")
        ones, zeros = tf.ones_like(translations[:, 0]), tf.zeros_like(translations[:, 0])
        return tf.stack([ones, zeros, -translations[:, 0], zeros, ones, -translations[:, 1], zeros, zeros],
                        axis=1)


def compose_transforms(*transforms):
    """One transform that `transform` applies as the given ones applied in order (all (8,) or all (N, 8))."""
    if not transforms:
        raise ValueError("tf.contrib.image.compose_transforms: at least one transform must be given")
    with tf.name_scope("compose_transforms"):
        composed = flat_transforms_to_matrices(transforms[0])
        for following in transforms[1:]:
            composed = tf.matmul(composed, flat_transforms_to_matrices(following))
        return matrices_to_flat_transforms(composed)


def flat_transforms_to_matrices(transforms):
    """(N, 3, 3) matrices (output -> input coordinates, homogeneous) for (8,) or (N, 8) transforms."""
    with tf.name_scope("flat_transforms_to_matrices"):
        transforms = tf.convert_to_tensor(transforms, name="transforms")
        if transforms.shape.rank not in (1, 2):
            raise ValueError(f"tf.contrib.image: transforms should be 1D or 2D, got: {transforms}")
        transforms = tf.reshape(transforms, [-1, 8])
        ones = tf.ones_like(transforms[:, :1])
        return tf.reshape(tf.concat([transforms, ones], axis=1), [-1, 3, 3])


def matrices_to_flat_transforms(transform_matrices):
    """(N, 8) transforms for (3, 3) or (N, 3, 3) matrices mapping output to input coordinates,
    each scaled so that its last entry is 1."""
    with tf.name_scope("matrices_to_flat_transforms"):
        matrices = tf.convert_to_tensor(transform_matrices, name="transform_matrices")
        if matrices.shape.rank not in (2, 3):
            raise ValueError(f"tf.contrib.image: matrices should be 2D or 3D, got: {matrices}")
        flat = tf.reshape(matrices, [-1, 9])
        return (flat / flat[:, 8:9])[:, :8]
