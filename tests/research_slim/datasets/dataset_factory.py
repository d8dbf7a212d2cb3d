"""Stand-in for research/slim's datasets/dataset_factory.py: one data set, `tiny`.

`tiny` is what tests/test_research_slim.py writes: PNG images in tf.Example
records (`image/encoded`, `image/format`, `image/class/label`), in files named
`tiny_<split>.tfrecord`. Described as research/slim described its data sets,
with slim's Dataset and TFExampleDecoder.
"""

import os

import tensorflow as tf
from tensorflow.contrib import slim as contrib_slim

slim = contrib_slim

SPLITS = {'train': 12, 'validation': 8}
NUM_CLASSES = 3


def get_dataset(name, split_name, dataset_dir, file_pattern=None, reader=None):
  if name != 'tiny':
    raise ValueError('Name of dataset unknown %s' % name)
  if split_name not in SPLITS:
    raise ValueError('split name %s was not recognized.' % split_name)
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='png'),
      'image/class/label': tf.FixedLenFeature([], tf.int64, default_value=0),
  }
  items_to_handlers = {
      'image': slim.tfexample_decoder.Image(shape=[16, 16, 3]),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
  }
  decoder = slim.tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)
  return slim.dataset.Dataset(
      data_sources=os.path.join(dataset_dir, file_pattern or 'tiny_%s.tfrecord' % split_name),
      reader=reader or tf.TFRecordReader,
      decoder=decoder,
      num_samples=SPLITS[split_name],
      items_to_descriptions={'image': 'A 16x16 color image.', 'label': 'A label from 0 to 2.'},
      num_classes=NUM_CLASSES)
