"""Stand-in for research/slim's deployment/model_deploy.py, for clones on one machine.

The same entry points (DeploymentConfig, create_clones, optimize_clones) and
contract: each clone builds the model in its own name scope on its own device
and adds its losses to tf.GraphKeys.LOSSES; optimize_clones sums each clone's
losses with the regularization losses and returns (total loss, gradients
averaged over clones).
"""

import collections

import tensorflow as tf
from tensorflow.contrib import slim as contrib_slim

slim = contrib_slim

Clone = collections.namedtuple('Clone', ['outputs', 'scope', 'device'])


class DeploymentConfig(object):

  def __init__(self, num_clones=1, clone_on_cpu=False, replica_id=0, num_replicas=1, num_ps_tasks=0):
    if num_replicas > 1 or num_ps_tasks > 0:
      raise ValueError('this stand-in deploys on one machine only')
    self.num_clones = num_clones
    self.clone_on_cpu = clone_on_cpu
    self.replica_id = replica_id

  def clone_device(self, clone_index):
    return '/device:CPU:0' if self.clone_on_cpu else ''

  def clone_scope(self, clone_index):
    return 'clone_%d' % clone_index if self.num_clones > 1 else ''

  def optimizer_device(self):
    return '/device:CPU:0' if self.clone_on_cpu else ''

  def inputs_device(self):
    return '/device:CPU:0'

  def variables_device(self):
    return '/device:CPU:0'


def create_clones(config, model_fn, args=None, kwargs=None):
  clones = []
  for i in range(config.num_clones):
    with tf.name_scope(config.clone_scope(i)) as scope:
      with tf.device(config.clone_device(i)):
        with tf.variable_scope(tf.get_variable_scope(), reuse=True if i > 0 else None):
          outputs = model_fn(*(args or []), **(kwargs or {}))
        clones.append(Clone(outputs, scope, config.clone_device(i)))
  return clones


def optimize_clones(clones, optimizer, regularization_losses=None, **kwargs):
  if regularization_losses is None:
    regularization_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
  losses, gradients = [], []
  for clone in clones:
    with tf.name_scope(clone.scope):
      clone_loss = tf.add_n(tf.get_collection(tf.GraphKeys.LOSSES, clone.scope or None))
      if len(clones) > 1:
        clone_loss = tf.div(clone_loss, 1.0 * len(clones), name='scaled_clone_loss')
      if regularization_losses:
        clone_loss = tf.add(clone_loss, tf.add_n(regularization_losses), name='clone_loss')
        regularization_losses = None
      losses.append(clone_loss)
      gradients.append(optimizer.compute_gradients(clone_loss, **kwargs))
  total_loss = tf.add_n(losses, name='total_loss')
  averaged = []
  for grads_and_vars in zip(*gradients):
    var = grads_and_vars[0][1]
    grads = [g for g, _ in grads_and_vars if g is not None]
    if grads:
      averaged.append((tf.add_n(grads) / len(grads) if len(grads) > 1 else grads[0], var))
  return total_loss, averaged
