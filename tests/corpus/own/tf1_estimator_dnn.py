"""A premade tf.estimator.DNNClassifier on MNIST pixels with numpy_input_fn, as TF 1.3-1.15 guides did.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import numpy as np
import tensorflow as tf

tf.logging.set_verbosity(tf.logging.INFO)
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 784).astype(np.float32) / 255.0
x_test = x_test.reshape(-1, 784).astype(np.float32) / 255.0

feature_columns = [tf.feature_column.numeric_column('x', shape=[784])]
classifier = tf.estimator.DNNClassifier(feature_columns=feature_columns, hidden_units=[128, 64],
                                        n_classes=10, model_dir='mnist_dnn_model')
train_input_fn = tf.estimator.inputs.numpy_input_fn(x={'x': x_train}, y=y_train.astype(np.int32),
                                                    batch_size=64, num_epochs=None, shuffle=True)
eval_input_fn = tf.estimator.inputs.numpy_input_fn(x={'x': x_test}, y=y_test.astype(np.int32),
                                                   num_epochs=1, shuffle=False)
before = classifier.train(input_fn=train_input_fn, steps=1).evaluate(input_fn=eval_input_fn)
print('loss %.4f' % before['loss'])
after = classifier.train(input_fn=train_input_fn, steps=100).evaluate(input_fn=eval_input_fn)
print('loss %.4f' % after['loss'])
print('Test accuracy: {accuracy:0.3f}'.format(**after))
