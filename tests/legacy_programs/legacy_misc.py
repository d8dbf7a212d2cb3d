# A TF1-era program in the style of its time, kept unmodified: tests run it through `slimcompat run`.
import tensorflow as tf
from tensorflow.contrib.layers.python.layers import layers as layers_lib
from tensorflow.contrib.layers.python.layers import utils, initializers, regularizers
from tensorflow.contrib.framework.python.ops import arg_scope, variables
from tensorflow.contrib.framework.python.ops.arg_scope import add_arg_scope
from tensorflow.contrib.slim.python.slim.nets import vgg
from tensorflow.contrib.slim.python.slim import learning
from tensorflow.contrib.slim.python.slim.data import dataset, tfexample_decoder
from tensorflow.contrib.losses.python.losses import loss_ops
import tensorflow.contrib.metrics as metrics
from tensorflow.contrib.training import create_train_op
print(tf.__version__, tf.contrib.framework.nest.flatten([1, [2]]), tf.contrib.layers.variance_scaling_initializer)
x = tf.placeholder(tf.float32, [None, 32, 32, 3])
with arg_scope.arg_scope([layers_lib.conv2d], weights_initializer=initializers.xavier_initializer()):
    y = layers_lib.conv2d(x, 4, [3, 3])
print(y.shape, len(variables.get_model_variables()), metrics.streaming_mean, loss_ops.absolute_difference)
with tf.variable_scope('a', reuse=tf.AUTO_REUSE):
    v = tf.get_variable('v', [2], initializer=tf.zeros_initializer())
print(tf.reduce_sum(v, keep_dims=True).shape, tf.to_float(tf.constant(1)).dtype, tf.py_func)
