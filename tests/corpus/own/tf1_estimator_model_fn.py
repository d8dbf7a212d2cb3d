"""A custom tf.estimator model_fn (tf.layers, EstimatorSpec for TRAIN / EVAL / PREDICT) fed by tf.data,
run with train_and_evaluate, the TF 1.4-1.15 way.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
# the first 6000 / 1000 images: from_tensor_slices embeds the arrays in the graph, which every checkpoint's
# meta graph then carries
x_train = x_train[:6000].reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
x_test = x_test[:1000].reshape(-1, 28, 28, 1).astype(np.float32) / 255.0
y_train, y_test = y_train[:6000], y_test[:1000]


def model_fn(features, labels, mode, params):
    net = tf.layers.conv2d(features['image'], 8, 3, activation=tf.nn.relu)
    net = tf.layers.max_pooling2d(net, 2, 2)
    logits = tf.layers.dense(tf.layers.flatten(net), 10)
    predictions = {'classes': tf.argmax(logits, axis=1), 'probabilities': tf.nn.softmax(logits)}
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    if mode == tf.estimator.ModeKeys.TRAIN:
        optimizer = tf.train.AdamOptimizer(params['learning_rate'])
        train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
    metrics = {'accuracy': tf.metrics.accuracy(labels=labels, predictions=predictions['classes'])}
    return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops=metrics)


def train_input_fn():
    dataset = tf.data.Dataset.from_tensor_slices(({'image': x_train}, y_train.astype(np.int32)))
    return dataset.shuffle(512).repeat().batch(32)


def eval_input_fn():
    return tf.data.Dataset.from_tensor_slices(({'image': x_test}, y_test.astype(np.int32))).batch(64)


estimator = tf.estimator.Estimator(model_fn=model_fn, model_dir='cnn_model', params={'learning_rate': 1e-3})
print('loss %.4f' % estimator.train(train_input_fn, steps=1).evaluate(eval_input_fn)['loss'])
train_spec = tf.estimator.TrainSpec(input_fn=train_input_fn, max_steps=80)
eval_spec = tf.estimator.EvalSpec(input_fn=eval_input_fn, throttle_secs=1)
tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)
result = estimator.evaluate(eval_input_fn)
print('loss %.4f' % result['loss'])
print('accuracy %.3f' % result['accuracy'])
