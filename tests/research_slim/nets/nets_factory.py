"""Stand-in for research/slim's nets/nets_factory.py: one small slim network, `tiny_cnn`."""

import functools

import tensorflow as tf
from tensorflow.contrib import slim as contrib_slim

slim = contrib_slim


def tiny_cnn_arg_scope(weight_decay=0.0):
  with slim.arg_scope([slim.conv2d, slim.fully_connected],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      activation_fn=tf.nn.relu) as sc:
    return sc


def tiny_cnn(images, num_classes=3, is_training=False, scope='TinyCNN'):
  end_points = {}
  with tf.variable_scope(scope, 'TinyCNN', [images]):
    net = slim.conv2d(images, 8, [3, 3], scope='conv1')
    net = slim.max_pool2d(net, [2, 2], 2, scope='pool1')
    net = slim.batch_norm(net, is_training=is_training, scope='bn1')
    end_points['pool1'] = net
    net = slim.flatten(net)
    net = slim.dropout(net, 0.8, is_training=is_training, scope='dropout')
    logits = slim.fully_connected(net, num_classes, activation_fn=None, scope='logits')
    end_points['Logits'] = logits
    end_points['Predictions'] = slim.softmax(logits, scope='Predictions')
  return logits, end_points


tiny_cnn.default_image_size = 16

networks_map = {'tiny_cnn': tiny_cnn}
arg_scopes_map = {'tiny_cnn': tiny_cnn_arg_scope}


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False):
  if name not in networks_map:
    raise ValueError('Name of network unknown %s' % name)
  func = networks_map[name]

  @functools.wraps(func)
  def network_fn(images, **kwargs):
    with slim.arg_scope(arg_scopes_map[name](weight_decay=weight_decay)):
      return func(images, num_classes=num_classes, is_training=is_training, **kwargs)

  network_fn.default_image_size = func.default_image_size
  return network_fn
