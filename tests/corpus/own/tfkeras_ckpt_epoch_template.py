"""Checkpoints named by epoch (cp-{epoch:04d}.ckpt, period=), restored with tf.train.latest_checkpoint,
plus a manual save_weights to a prefix without extension: tf.keras habits of 2018-2020.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import os
import tensorflow as tf
from tensorflow import keras

(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()
train_images = train_images.reshape(-1, 28, 28, 1).astype('float32') / 255.0
test_images = test_images.reshape(-1, 28, 28, 1).astype('float32') / 255.0


def create_model():
    model = keras.Sequential([
        keras.layers.Conv2D(8, 3, activation='relu', input_shape=(28, 28, 1)),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model


checkpoint_path = "training_2/cp-{epoch:04d}.ckpt"
checkpoint_dir = os.path.dirname(checkpoint_path)
cp_callback = keras.callbacks.ModelCheckpoint(checkpoint_path, verbose=1, save_weights_only=True, period=2)

model = create_model()
model.save_weights(checkpoint_path.format(epoch=0))
model.fit(train_images, train_labels, epochs=4, callbacks=[cp_callback],
          validation_data=(test_images, test_labels), verbose=2)

latest = tf.train.latest_checkpoint(checkpoint_dir)
print('latest checkpoint:', latest)
model = create_model()
model.load_weights(latest)
loss, acc = model.evaluate(test_images, test_labels, verbose=0)
print("Restored model, loss: {:.4f}, accuracy: {:5.2f}%".format(loss, 100 * acc))

model.save_weights('./checkpoints/my_checkpoint')
model = create_model()
model.load_weights('./checkpoints/my_checkpoint')
loss2, acc2 = model.evaluate(test_images, test_labels, verbose=0)
print("Reloaded model, loss: {:.4f}, accuracy: {:5.2f}%".format(loss2, 100 * acc2))
assert abs(loss - loss2) < 1e-6
