"""Evaluates a checkpoint on a TFRecord data set, the way research/slim's eval_image_classifier.py does.

Written for slimcompat's tests to reproduce how the TF 1.15-era
tensorflow/models research/slim/eval_image_classifier.py uses TensorFlow:
`contrib_quantize` imported at top level and called only with `--quantize`,
`tf.app.flags`, slim's global step, a DatasetDataProvider without shuffling
into `tf.train.batch`, the variables to restore (or their moving averages),
streaming accuracy and recall@k aggregated by `slim.metrics.aggregate_metric_map`,
printed through `tf.Print` summaries, and `slim.evaluation.evaluate_once`.
Unmodified, it must run through `slimcompat run`.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import math

import tensorflow as tf
from tensorflow.contrib import quantize as contrib_quantize
from tensorflow.contrib import slim as contrib_slim

from datasets import dataset_factory
from nets import nets_factory
from preprocessing import preprocessing_factory

slim = contrib_slim

tf.app.flags.DEFINE_integer('batch_size', 100, 'Samples per batch.')
tf.app.flags.DEFINE_integer('max_num_batches', None, 'Batches to evaluate; None: all.')
tf.app.flags.DEFINE_string('master', '', 'Address of the TensorFlow master.')
tf.app.flags.DEFINE_string('checkpoint_path', '/tmp/tfmodel/', 'Checkpoint, or the folder holding it.')
tf.app.flags.DEFINE_string('eval_dir', '/tmp/tfmodel/', 'Where results go.')
tf.app.flags.DEFINE_integer('num_preprocessing_threads', 4, 'Threads that build batches.')
tf.app.flags.DEFINE_string('dataset_name', 'imagenet', 'Data set to load.')
tf.app.flags.DEFINE_string('dataset_split_name', 'test', 'Split to evaluate.')
tf.app.flags.DEFINE_string('dataset_dir', None, 'Where the data set files are.')
tf.app.flags.DEFINE_integer('labels_offset', 0, 'Offset of the labels in the data set.')
tf.app.flags.DEFINE_string('model_name', 'inception_v3', 'Network to evaluate.')
tf.app.flags.DEFINE_string('preprocessing_name', None, 'Preprocessing; None: as model_name.')
tf.app.flags.DEFINE_float('moving_average_decay', None, 'Decay of the moving average; None: none.')
tf.app.flags.DEFINE_integer('eval_image_size', None, 'Evaluation image size.')
tf.app.flags.DEFINE_bool('quantize', False, 'Evaluate the quantized graph.')
FLAGS = tf.app.flags.FLAGS


def main(_):
  if not FLAGS.dataset_dir:
    raise ValueError('You must supply the dataset directory with --dataset_dir')
  tf.logging.set_verbosity(tf.logging.INFO)
  with tf.Graph().as_default():
    tf_global_step = slim.get_or_create_global_step()
    dataset = dataset_factory.get_dataset(FLAGS.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
    network_fn = nets_factory.get_network_fn(
        FLAGS.model_name, num_classes=dataset.num_classes - FLAGS.labels_offset, is_training=False)
    provider = slim.dataset_data_provider.DatasetDataProvider(
        dataset, shuffle=False, common_queue_capacity=2 * FLAGS.batch_size, common_queue_min=FLAGS.batch_size)
    image, label = provider.get(['image', 'label'])
    label -= FLAGS.labels_offset
    image_preprocessing_fn = preprocessing_factory.get_preprocessing(
        FLAGS.preprocessing_name or FLAGS.model_name, is_training=False)
    size = FLAGS.eval_image_size or network_fn.default_image_size
    image = image_preprocessing_fn(image, size, size)
    images, labels = tf.train.batch([image, label], batch_size=FLAGS.batch_size,
                                    num_threads=FLAGS.num_preprocessing_threads, capacity=5 * FLAGS.batch_size)

    logits, _ = network_fn(images)

    if FLAGS.quantize:
      contrib_quantize.create_eval_graph()

    if FLAGS.moving_average_decay:
      variable_averages = tf.train.ExponentialMovingAverage(FLAGS.moving_average_decay, tf_global_step)
      variables_to_restore = variable_averages.variables_to_restore(slim.get_model_variables())
      variables_to_restore[tf_global_step.op.name] = tf_global_step
    else:
      variables_to_restore = slim.get_variables_to_restore()

    predictions = tf.argmax(logits, 1)
    labels = tf.squeeze(labels)
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'Accuracy': slim.metrics.streaming_accuracy(predictions, labels),
        'Recall_2': slim.metrics.streaming_recall_at_k(logits, labels, 2),
    })
    for name, value in names_to_values.items():
      summary_name = 'eval/%s' % name
      op = tf.summary.scalar(summary_name, value, collections=[])
      op = tf.Print(op, [value], summary_name)
      tf.add_to_collection(tf.GraphKeys.SUMMARIES, op)

    num_batches = FLAGS.max_num_batches or math.ceil(dataset.num_samples / float(FLAGS.batch_size))
    if tf.gfile.IsDirectory(FLAGS.checkpoint_path):
      checkpoint_path = tf.train.latest_checkpoint(FLAGS.checkpoint_path)
    else:
      checkpoint_path = FLAGS.checkpoint_path
    tf.logging.info('Evaluating %s' % checkpoint_path)

    slim.evaluation.evaluate_once(
        master=FLAGS.master, checkpoint_path=checkpoint_path, logdir=FLAGS.eval_dir,
        num_evals=num_batches, eval_op=list(names_to_updates.values()),
        variables_to_restore=variables_to_restore)


if __name__ == '__main__':
  tf.app.run()
