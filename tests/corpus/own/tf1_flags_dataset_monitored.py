"""Logistic regression with tf.app.flags, a tf.data one-shot iterator and MonitoredTrainingSession,
the TF 1.8-1.15 training-script skeleton.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import numpy as np
import tensorflow as tf

flags = tf.app.flags
flags.DEFINE_integer('batch_size', 64, 'Batch size.')
flags.DEFINE_integer('max_steps', 120, 'Number of training steps.')
flags.DEFINE_integer('train_size', 6000, 'Training images used (the arrays are embedded in the graph).')
flags.DEFINE_float('learning_rate', 0.1, 'Learning rate.')
flags.DEFINE_string('train_dir', 'train_logs', 'Where checkpoints and summaries go.')
FLAGS = flags.FLAGS


def input_fn(features, labels):
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    dataset = dataset.shuffle(1000).repeat().batch(FLAGS.batch_size)
    return dataset.make_one_shot_iterator().get_next()


def main(_):
    (x_train, y_train), _ = tf.keras.datasets.mnist.load_data()
    features = x_train[:FLAGS.train_size].reshape(-1, 784).astype(np.float32) / 255.0
    labels = y_train[:FLAGS.train_size].astype(np.int64)
    x, y = input_fn(features, labels)
    logits = tf.layers.dense(x, 10)
    loss = tf.losses.sparse_softmax_cross_entropy(y, logits)
    tf.summary.scalar('loss', loss)
    global_step = tf.train.get_or_create_global_step()
    train_op = tf.train.GradientDescentOptimizer(FLAGS.learning_rate).minimize(loss, global_step=global_step)
    hooks = [tf.train.StopAtStepHook(last_step=FLAGS.max_steps)]
    with tf.train.MonitoredTrainingSession(checkpoint_dir=FLAGS.train_dir, hooks=hooks,
                                           save_summaries_steps=50) as sess:
        while not sess.should_stop():
            _, step, value = sess.run([train_op, global_step, loss])
            if step % 20 == 0 or step == FLAGS.max_steps - 1:
                print('step %d, loss %.4f' % (step, value))


if __name__ == '__main__':
    tf.app.run()
