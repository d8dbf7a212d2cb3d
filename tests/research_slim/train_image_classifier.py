"""Trains a classifier from a TFRecord data set, the way research/slim's train_image_classifier.py does.

Written for slimcompat's tests to reproduce how the TF 1.15-era
tensorflow/models research/slim/train_image_classifier.py uses TensorFlow:
`contrib_quantize` imported at top level and called only with `--quantize_delay`,
its flags through `tf.app.flags`, a global step from slim, the data set from
`dataset_factory` read by slim's DatasetDataProvider into `tf.train.batch` and a
`prefetch_queue`, the model built as `model_deploy` clones with slim losses,
summaries for activations, losses, variables and the learning rate, an optional
moving average, a decayed learning rate and a flag-chosen optimizer, then
`slim.learning.train`. Unmodified, it must run through `slimcompat run`.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow as tf
from tensorflow.contrib import quantize as contrib_quantize
from tensorflow.contrib import slim as contrib_slim

from datasets import dataset_factory
from deployment import model_deploy
from nets import nets_factory
from preprocessing import preprocessing_factory

slim = contrib_slim

flags = tf.app.flags
flags.DEFINE_string('master', '', 'Address of the TensorFlow master.')
flags.DEFINE_string('train_dir', '/tmp/tfmodel/', 'Where checkpoints and event logs go.')
flags.DEFINE_integer('num_clones', 1, 'Number of model clones.')
flags.DEFINE_boolean('clone_on_cpu', False, 'Put the clones on the CPU.')
flags.DEFINE_integer('worker_replicas', 1, 'Number of worker replicas.')
flags.DEFINE_integer('num_ps_tasks', 0, 'Number of parameter servers.')
flags.DEFINE_integer('num_readers', 4, 'Parallel readers of the data set.')
flags.DEFINE_integer('num_preprocessing_threads', 4, 'Threads that build batches.')
flags.DEFINE_integer('log_every_n_steps', 10, 'How often to log.')
flags.DEFINE_integer('save_summaries_secs', 600, 'How often to save summaries, in seconds.')
flags.DEFINE_integer('save_interval_secs', 600, 'How often to save the model, in seconds.')
flags.DEFINE_integer('task', 0, 'Task id of this replica.')
flags.DEFINE_float('weight_decay', 0.00004, 'Weight decay.')
flags.DEFINE_string('optimizer', 'rmsprop', 'One of "adam", "momentum", "sgd", "rmsprop".')
flags.DEFINE_float('momentum', 0.9, 'Momentum of MomentumOptimizer and RMSPropOptimizer.')
flags.DEFINE_float('opt_epsilon', 1.0, 'Epsilon of the optimizer.')
flags.DEFINE_integer('quantize_delay', -1, 'Steps before quantized training starts; -1: never.')
flags.DEFINE_string('learning_rate_decay_type', 'exponential', '"fixed" or "exponential".')
flags.DEFINE_float('learning_rate', 0.01, 'Initial learning rate.')
flags.DEFINE_float('learning_rate_decay_factor', 0.94, 'Learning rate decay factor.')
flags.DEFINE_float('num_epochs_per_decay', 2.0, 'Epochs between decays.')
flags.DEFINE_float('moving_average_decay', None, 'Decay of the moving average; None: none.')
flags.DEFINE_float('label_smoothing', 0.0, 'Label smoothing.')
flags.DEFINE_string('dataset_name', 'imagenet', 'Data set to load.')
flags.DEFINE_string('dataset_split_name', 'train', 'Split to train on.')
flags.DEFINE_string('dataset_dir', None, 'Where the data set files are.')
flags.DEFINE_integer('labels_offset', 0, 'Offset of the labels in the data set.')
flags.DEFINE_string('model_name', 'inception_v3', 'Network to train.')
flags.DEFINE_string('preprocessing_name', None, 'Preprocessing; None: as model_name.')
flags.DEFINE_integer('batch_size', 32, 'Samples per batch.')
flags.DEFINE_integer('train_image_size', None, 'Training image size.')
flags.DEFINE_integer('max_number_of_steps', None, 'Steps to train.')
flags.DEFINE_string('trainable_scopes', None, 'Comma-separated scopes to train; None: all.')
FLAGS = flags.FLAGS


def _learning_rate(num_samples_per_epoch, global_step):
  decay_steps = int(num_samples_per_epoch / FLAGS.batch_size * FLAGS.num_epochs_per_decay)
  if FLAGS.learning_rate_decay_type == 'fixed':
    return tf.constant(FLAGS.learning_rate, name='fixed_learning_rate')
  return tf.train.exponential_decay(FLAGS.learning_rate, global_step, max(decay_steps, 1),
                                    FLAGS.learning_rate_decay_factor, staircase=True,
                                    name='exponential_decay_learning_rate')


def _optimizer(learning_rate):
  if FLAGS.optimizer == 'adam':
    return tf.train.AdamOptimizer(learning_rate, epsilon=FLAGS.opt_epsilon)
  if FLAGS.optimizer == 'momentum':
    return tf.train.MomentumOptimizer(learning_rate, momentum=FLAGS.momentum, name='Momentum')
  if FLAGS.optimizer == 'rmsprop':
    return tf.train.RMSPropOptimizer(learning_rate, momentum=FLAGS.momentum, epsilon=FLAGS.opt_epsilon)
  if FLAGS.optimizer == 'sgd':
    return tf.train.GradientDescentOptimizer(learning_rate)
  raise ValueError('Optimizer [%s] was not recognized' % FLAGS.optimizer)


def _variables_to_train():
  if FLAGS.trainable_scopes is None:
    return tf.trainable_variables()
  found = []
  for scope in FLAGS.trainable_scopes.split(','):
    found += tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope.strip())
  return found


def main(_):
  if not FLAGS.dataset_dir:
    raise ValueError('You must supply the dataset directory with --dataset_dir')
  tf.logging.set_verbosity(tf.logging.INFO)
  with tf.Graph().as_default():
    deploy_config = model_deploy.DeploymentConfig(
        num_clones=FLAGS.num_clones, clone_on_cpu=FLAGS.clone_on_cpu, replica_id=FLAGS.task,
        num_replicas=FLAGS.worker_replicas, num_ps_tasks=FLAGS.num_ps_tasks)
    with tf.device(deploy_config.variables_device()):
      global_step = slim.create_global_step()

    dataset = dataset_factory.get_dataset(FLAGS.dataset_name, FLAGS.dataset_split_name, FLAGS.dataset_dir)
    network_fn = nets_factory.get_network_fn(
        FLAGS.model_name, num_classes=dataset.num_classes - FLAGS.labels_offset,
        weight_decay=FLAGS.weight_decay, is_training=True)
    image_preprocessing_fn = preprocessing_factory.get_preprocessing(
        FLAGS.preprocessing_name or FLAGS.model_name, is_training=True)

    with tf.device(deploy_config.inputs_device()):
      provider = slim.dataset_data_provider.DatasetDataProvider(
          dataset, num_readers=FLAGS.num_readers,
          common_queue_capacity=20 * FLAGS.batch_size, common_queue_min=10 * FLAGS.batch_size)
      image, label = provider.get(['image', 'label'])
      label -= FLAGS.labels_offset
      size = FLAGS.train_image_size or network_fn.default_image_size
      image = image_preprocessing_fn(image, size, size)
      images, labels = tf.train.batch([image, label], batch_size=FLAGS.batch_size,
                                      num_threads=FLAGS.num_preprocessing_threads,
                                      capacity=5 * FLAGS.batch_size)
      labels = slim.one_hot_encoding(labels, dataset.num_classes - FLAGS.labels_offset)
      batch_queue = slim.prefetch_queue.prefetch_queue([images, labels],
                                                       capacity=2 * deploy_config.num_clones)

    def clone_fn(batch_queue):
      images, labels = batch_queue.dequeue()
      logits, end_points = network_fn(images)
      slim.losses.softmax_cross_entropy(logits, labels, label_smoothing=FLAGS.label_smoothing, weights=1.0)
      return end_points

    summaries = set(tf.get_collection(tf.GraphKeys.SUMMARIES))
    clones = model_deploy.create_clones(deploy_config, clone_fn, [batch_queue])
    first_clone_scope = deploy_config.clone_scope(0)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS, first_clone_scope or None)

    for name, x in clones[0].outputs.items():
      summaries.add(tf.summary.histogram('activations/' + name, x))
      summaries.add(tf.summary.scalar('sparsity/' + name, tf.nn.zero_fraction(x)))
    for loss in tf.get_collection(tf.GraphKeys.LOSSES, first_clone_scope or None):
      summaries.add(tf.summary.scalar('losses/%s' % loss.op.name, loss))
    for variable in slim.get_model_variables():
      summaries.add(tf.summary.histogram(variable.op.name, variable))

    if FLAGS.moving_average_decay:
      moving_average_variables = slim.get_model_variables()
      variable_averages = tf.train.ExponentialMovingAverage(FLAGS.moving_average_decay, global_step)
      update_ops.append(variable_averages.apply(moving_average_variables))

    if FLAGS.quantize_delay >= 0:
      contrib_quantize.create_training_graph(quant_delay=FLAGS.quantize_delay)

    with tf.device(deploy_config.optimizer_device()):
      learning_rate = _learning_rate(dataset.num_samples, global_step)
      optimizer = _optimizer(learning_rate)
      summaries.add(tf.summary.scalar('learning_rate', learning_rate))

    total_loss, clones_gradients = model_deploy.optimize_clones(
        clones, optimizer, var_list=_variables_to_train())
    summaries.add(tf.summary.scalar('total_loss', total_loss))
    update_ops.append(optimizer.apply_gradients(clones_gradients, global_step=global_step))
    with tf.control_dependencies([tf.group(*update_ops)]):
      train_tensor = tf.identity(total_loss, name='train_op')
    summary_op = tf.summary.merge(list(summaries), name='summary_op')

    slim.learning.train(
        train_tensor, logdir=FLAGS.train_dir, master=FLAGS.master, is_chief=(FLAGS.task == 0),
        summary_op=summary_op, number_of_steps=FLAGS.max_number_of_steps,
        log_every_n_steps=FLAGS.log_every_n_steps, save_summaries_secs=FLAGS.save_summaries_secs,
        save_interval_secs=FLAGS.save_interval_secs)


if __name__ == '__main__':
  tf.app.run()
