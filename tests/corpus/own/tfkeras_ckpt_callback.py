"""Save weights during training with ModelCheckpoint to a .ckpt path, then restore them into a fresh model,
as TF 1.13-2.3 era tf.keras scripts did.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import os
import tensorflow as tf
from tensorflow import keras

(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()
train_images = train_images.reshape(-1, 28 * 28) / 255.0
test_images = test_images.reshape(-1, 28 * 28) / 255.0


def create_model():
    model = keras.models.Sequential([
        keras.layers.Dense(256, activation=tf.nn.relu, input_shape=(784,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation=tf.nn.softmax),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(), loss=tf.keras.losses.sparse_categorical_crossentropy,
                  metrics=['accuracy'])
    return model


checkpoint_path = "training_1/cp.ckpt"
checkpoint_dir = os.path.dirname(checkpoint_path)
cp_callback = tf.keras.callbacks.ModelCheckpoint(checkpoint_path, save_weights_only=True, verbose=1)

model = create_model()
model.fit(train_images, train_labels, epochs=10, validation_data=(test_images, test_labels),
          callbacks=[cp_callback])
print(sorted(os.listdir(checkpoint_dir)))

model = create_model()
loss, acc = model.evaluate(test_images, test_labels, verbose=0)
print("Untrained model, loss: {:.4f}, accuracy: {:5.2f}%".format(loss, 100 * acc))
model.load_weights(checkpoint_path)
loss, acc = model.evaluate(test_images, test_labels, verbose=0)
print("Restored model, loss: {:.4f}, accuracy: {:5.2f}%".format(loss, 100 * acc))
