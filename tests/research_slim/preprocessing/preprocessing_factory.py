"""Stand-in for research/slim's preprocessing/preprocessing_factory.py: scale to [-1, 1], flip when training."""

import tensorflow as tf


def get_preprocessing(name, is_training=False, use_grayscale=False):
  def preprocessing_fn(image, output_height, output_width, **kwargs):
    image = tf.image.convert_image_dtype(image, dtype=tf.float32)
    if use_grayscale:
      image = tf.image.rgb_to_grayscale(image)
    image = tf.image.resize_images(image, [output_height, output_width])
    if is_training:
      image = tf.image.random_flip_left_right(image)
    return tf.multiply(tf.subtract(image, 0.5), 2.0)

  return preprocessing_fn
