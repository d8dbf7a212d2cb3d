# A TF1-era program in the style of its time, kept unmodified: tests run it through `slimcompat run`.
import os, numpy as np
import tensorflow as tf
import tensorflow.contrib.slim as slim
from tensorflow.contrib.slim.nets import inception
from tensorflow.contrib.framework import assign_from_checkpoint_fn, get_variables_to_restore

ckpt_dir = 'incv3'
os.makedirs(ckpt_dir, exist_ok=True)
with tf.Graph().as_default():
    images = tf.random_uniform([2, 150, 150, 3])
    with slim.arg_scope(inception.inception_v3_arg_scope()):
        logits, end_points = inception.inception_v3(images, num_classes=5, is_training=False)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        tf.train.Saver().save(s, ckpt_dir + '/model.ckpt')
with tf.Graph().as_default():
    images = tf.placeholder_with_default(tf.zeros([2, 150, 150, 3]), [2, 150, 150, 3])
    with slim.arg_scope(inception.inception_v3_arg_scope()):
        logits, end_points = inception.inception_v3(images, num_classes=5, is_training=False)
    labels = tf.constant([1, 2], tf.int64)
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'accuracy': slim.metrics.streaming_accuracy(tf.argmax(logits, 1), labels),
        'recall_at_2': slim.metrics.streaming_recall_at_k(logits, labels, 2)})
    restore = get_variables_to_restore(exclude=['InceptionV3/Logits'])
    init_fn = assign_from_checkpoint_fn(tf.train.latest_checkpoint(ckpt_dir), restore)
    with tf.Session() as s:
        s.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        init_fn(s)
        s.run(list(names_to_updates.values()), {images: np.zeros((2, 150, 150, 3), np.float32)})
        print('restored', len(restore), 'metrics', sorted(names_to_values), 'endpoints', len(end_points))
    out = slim.evaluation.evaluate_once('', tf.train.latest_checkpoint(ckpt_dir), 'eval',
                                        num_evals=1, eval_op=list(names_to_updates.values()),
                                        final_op=names_to_values)
    print('evaluate_once', sorted(out))
