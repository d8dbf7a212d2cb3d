"""A TF1 slim ResNet-v2 program, kept in its TensorFlow 1 form on purpose.

Written from the project's seed document 000 (a 2018 blog program: its own
`Block` namedtuple, `stack_block_dense`, `bottleneck`, `resnet_arg_scope`,
`conv2d_same`, `subsample` and the `time_tensorflow_run` forward benchmark).
Fixed against the seed: `import collections` (seed: `collection`), block1's
last unit strides by 2 (seed: 5), resnet_v2_101's default scope. Where the seed
departs from tf-slim's own resnet_v2 (BN+ReLU after conv3, a plain strided
3x3 conv2), the example follows tf-slim, so its checkpoints carry slim's
variable names and meaning and real resnet_v2_50 weights load into it.

It does not run on TensorFlow 2 as it is. It runs unmodified through
`slimcompat run`, and with plain `python` after `slimcompat migrate`.
Flags beyond the seed make it testable: a small batch, a seed, saving the
logits, and saving or restoring the weights with a tf.train.Saver.
"""
import collections
import math
import time
from datetime import datetime

import numpy as np
import tensorflow as tf
import tensorflow.contrib.slim as slim
from tensorflow.contrib.layers.python.layers import utils

flags = tf.app.flags
flags.DEFINE_integer('batch_size', 32, 'images per batch')
flags.DEFINE_integer('image_size', 224, 'height and width of the input')
flags.DEFINE_integer('num_batches', 100, 'timed forward passes (after 10 burn-in)')
flags.DEFINE_integer('depth', 50, 'resnet_v2 depth: 50, 101, 152 or 200')
flags.DEFINE_integer('seed', 0, 'graph-level random seed for weights and input')
flags.DEFINE_string('save_logits', '', 'write the logits of the fixed input here (.npy)')
flags.DEFINE_string('save_input', '', 'write the fixed input batch here (.npy)')
flags.DEFINE_string('save_checkpoint', '', 'save the weights here after initialising')
flags.DEFINE_string('restore_checkpoint', '', 'restore the weights from here')
FLAGS = flags.FLAGS


class Block(collections.namedtuple('Block', ['scope', 'unit_fn', 'args'])):
    """A named tuple describing a ResNet block: scope, unit function, unit args."""


def subsample(inputs, factor, scope=None):
    if factor == 1:
        return inputs
    return slim.max_pool2d(inputs, [1, 1], stride=factor, scope=scope)


def conv2d_same(inputs, num_outputs, kernel_size, stride, scope=None):
    if stride == 1:
        return slim.conv2d(inputs, num_outputs, kernel_size, stride=1, padding='SAME', scope=scope)
    pad_total = kernel_size - 1
    pad_beg = pad_total // 2
    pad_end = pad_total - pad_beg
    inputs = tf.pad(inputs, [[0, 0], [pad_beg, pad_end], [pad_beg, pad_end], [0, 0]])
    return slim.conv2d(inputs, num_outputs, kernel_size, stride=stride, padding='VALID', scope=scope)


@slim.add_arg_scope
def stack_block_dense(net, blocks, outputs_collections=None):
    for block in blocks:
        with tf.variable_scope(block.scope, 'block', [net]) as sc:
            for i, unit in enumerate(block.args):
                with tf.variable_scope('unit_%d' % (i + 1), values=[net]):
                    unit_depth, unit_depth_bottleneck, unit_stride = unit
                    net = block.unit_fn(net, depth=unit_depth,
                                        depth_bottleneck=unit_depth_bottleneck,
                                        stride=unit_stride)
            net = utils.collect_named_outputs(outputs_collections, sc.name, net)
    return net


def resnet_arg_scope(is_training=True, weight_decay=0.0001, batch_norm_decay=0.997,
                     batch_norm_epsilon=1e-5, batch_norm_scale=True):
    batch_norm_params = {
        'is_training': is_training,
        'decay': batch_norm_decay,
        'epsilon': batch_norm_epsilon,
        'scale': batch_norm_scale,
        'updates_collections': tf.GraphKeys.UPDATE_OPS,
    }
    with slim.arg_scope(
            [slim.conv2d],
            weights_regularizer=slim.l2_regularizer(weight_decay),
            weights_initializer=slim.variance_scaling_initializer(),
            activation_fn=tf.nn.relu,
            normalizer_fn=slim.batch_norm,
            normalizer_params=batch_norm_params):
        with slim.arg_scope([slim.batch_norm], **batch_norm_params):
            with slim.arg_scope([slim.max_pool2d], padding='SAME') as arg_sc:
                return arg_sc


@slim.add_arg_scope
def bottleneck(inputs, depth, depth_bottleneck, stride, outputs_collections=None, scope=None):
    with tf.variable_scope(scope, 'bottleneck_v2', [inputs]) as sc:
        depth_in = utils.last_dimension(inputs.get_shape(), min_rank=4)
        preact = slim.batch_norm(inputs, activation_fn=tf.nn.relu, scope='preact')
        if depth == depth_in:
            shortcut = subsample(inputs, stride, 'shortcut')
        else:
            shortcut = slim.conv2d(preact, depth, [1, 1], stride=stride,
                                   normalizer_fn=None, activation_fn=None, scope='shortcut')
        residual = slim.conv2d(preact, depth_bottleneck, [1, 1], stride=1, scope='conv1')
        residual = conv2d_same(residual, depth_bottleneck, 3, stride, scope='conv2')
        residual = slim.conv2d(residual, depth, [1, 1], stride=1, normalizer_fn=None,
                               activation_fn=None, scope='conv3')
        output = shortcut + residual
        return utils.collect_named_outputs(outputs_collections, sc.name, output)


def resnet_v2(inputs, blocks, num_classes=None, global_pool=True, include_root_block=True,
              reuse=None, scope=None):
    with tf.variable_scope(scope, 'resnet_v2', [inputs], reuse=reuse) as sc:
        end_points_collection = sc.original_name_scope + '_end_points'
        with slim.arg_scope([slim.conv2d, bottleneck, stack_block_dense],
                            outputs_collections=end_points_collection):
            net = inputs
            if include_root_block:
                with slim.arg_scope([slim.conv2d], activation_fn=None, normalizer_fn=None):
                    net = conv2d_same(net, 64, 7, stride=2, scope='conv1')
                net = slim.max_pool2d(net, [3, 3], stride=2, scope='pool1')
            net = stack_block_dense(net, blocks)
            net = slim.batch_norm(net, activation_fn=tf.nn.relu, scope='postnorm')
            if global_pool:
                net = tf.reduce_mean(net, [1, 2], name='pool5', keep_dims=True)
            if num_classes is not None:
                net = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                                  normalizer_fn=None, scope='logits')
            end_points = utils.convert_collection_to_dict(end_points_collection)
            if num_classes is not None:
                end_points['predictions'] = slim.softmax(net, scope='predictions')
            return net, end_points


UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3)}


def resnet_v2_blocks(depth):
    units = UNITS[depth]
    widths = (64, 128, 256, 512)
    blocks = []
    for i, (n, width) in enumerate(zip(units, widths)):
        last_stride = 1 if i == len(units) - 1 else 2
        args = [(width * 4, width, 1)] * (n - 1) + [(width * 4, width, last_stride)]
        blocks.append(Block('block%d' % (i + 1), bottleneck, args))
    return blocks


def resnet_v2_50(inputs, num_classes=None, global_pool=True, reuse=None, scope='resnet_v2_50'):
    return resnet_v2(inputs, resnet_v2_blocks(50), num_classes, global_pool,
                     include_root_block=True, reuse=reuse, scope=scope)


def resnet_v2_101(inputs, num_classes=None, global_pool=True, reuse=None, scope='resnet_v2_101'):
    return resnet_v2(inputs, resnet_v2_blocks(101), num_classes, global_pool,
                     include_root_block=True, reuse=reuse, scope=scope)


def time_tensorflow_run(session, target, info_string, num_batches):
    num_steps_burn_in = 10
    total_duration = 0.0
    total_duration_squared = 0.0
    for i in range(num_batches + num_steps_burn_in):
        start_time = time.time()
        _ = session.run(target)
        duration = time.time() - start_time
        if i >= num_steps_burn_in:
            if not i % 10:
                print('%s: step %d, duration = %.3f' % (datetime.now(), i - num_steps_burn_in, duration))
            total_duration += duration
            total_duration_squared += duration * duration
    mn = total_duration / num_batches
    vr = total_duration_squared / num_batches - mn * mn
    sd = math.sqrt(max(vr, 0.0))
    print('%s: %s across %d steps, %.3f +/- %3.3f sec/batch' % (datetime.now(), info_string, num_batches, mn, sd))
    return mn, sd


def main(_):
    tf.set_random_seed(FLAGS.seed)
    inputs = tf.random_uniform((FLAGS.batch_size, FLAGS.image_size, FLAGS.image_size, 3), seed=FLAGS.seed)
    # Fixed for the whole run, so every session.run sees the same batch.
    images = tf.Variable(inputs, trainable=False, name='fixed_input')
    with slim.arg_scope(resnet_arg_scope(is_training=False)):
        net, end_points = resnet_v2(images, resnet_v2_blocks(FLAGS.depth), 1000,
                                    scope='resnet_v2_%d' % FLAGS.depth)
    model_vars = slim.get_model_variables('resnet_v2_%d' % FLAGS.depth)
    saver = tf.train.Saver(model_vars)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        if FLAGS.restore_checkpoint:
            saver.restore(sess, FLAGS.restore_checkpoint)
        if FLAGS.save_checkpoint:
            saver.save(sess, FLAGS.save_checkpoint, write_meta_graph=False)
        logits = sess.run(net)
        print('logits %s, %d end points, %d model variables' % (logits.shape, len(end_points), len(model_vars)))
        if FLAGS.save_logits:
            np.save(FLAGS.save_logits, np.squeeze(logits, axis=(1, 2)))
        if FLAGS.save_input:
            np.save(FLAGS.save_input, sess.run(images))
        if FLAGS.num_batches > 0:
            time_tensorflow_run(sess, net, 'Forward', FLAGS.num_batches)


if __name__ == '__main__':
    tf.app.run()
