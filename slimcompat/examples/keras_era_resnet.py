"""A Keras-era program in the style of the seeds: a tf.keras ResNet-18 as 2019 blog code wrote it.

Functional tf.keras with auto-named layers (`conv2d_7`, `batch_normalization_7`),
a helper per conv and per residual block, Keras' default BatchNorm epsilon,
`padding='same'` everywhere, softmax in the last Dense, and
ModelCheckpoint(save_weights_only=True) to a `.ckpt` path: a TF-format
checkpoint, as TF 2.1 wrote it. Trained for one epoch on a small seeded
synthetic set (the seeds used CIFAR-10), then the probabilities of a fixed
batch are saved, so that whoever converts the checkpoint can check the result.

    slimcompat run keras_era_resnet.py --workdir DIR     # Keras 2 (tf-keras), as the code expects

`slimcompat demo` recognises `build_model()` by structure, converts the
checkpoint with the code, and diffs it against torchvision's resnet18.
"""
import argparse
import os

import numpy as np
import tensorflow as tf
from tensorflow.keras.layers import Input, Conv2D, BatchNormalization, Activation, Add
from tensorflow.keras.layers import MaxPooling2D, GlobalAveragePooling2D, Dense
from tensorflow.keras.models import Model


def conv_bn(x, filters, kernel_size, strides=1, relu=True):
    x = Conv2D(filters, kernel_size, strides=strides, padding='same', use_bias=False)(x)
    x = BatchNormalization()(x)
    if relu:
        x = Activation('relu')(x)
    return x


def basic_block(x, filters, strides):
    # main path
    y = conv_bn(x, filters, 3, strides)
    y = conv_bn(y, filters, 3, 1, relu=False)
    # shortcut: a 1x1 conv when the shape changes
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_bn(x, filters, 1, strides, relu=False)
    y = Add()([y, shortcut])
    return Activation('relu')(y)


def build_model(input_shape=(64, 64, 3), classes=10):
    inputs = Input(input_shape)
    x = conv_bn(inputs, 64, 7, 2)
    x = MaxPooling2D((3, 3), strides=2, padding='same')(x)
    for i, filters in enumerate([64, 128, 256, 512]):
        x = basic_block(x, filters, 1 if i == 0 else 2)
        x = basic_block(x, filters, 1)
    x = GlobalAveragePooling2D()(x)
    x = Dense(classes, activation='softmax')(x)
    return Model(inputs, x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--workdir', default='.')
    parser.add_argument('--epochs', type=int, default=1)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (64, 64, 64, 3)).astype(np.float32) / 255.0
    y_train = rng.integers(0, 10, (64, 1))
    x_check = rng.integers(0, 256, (4, 64, 64, 3)).astype(np.float32) / 255.0

    model = build_model()
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    checkpoint_save_path = os.path.join(args.workdir, 'checkpoint', 'resnet18.ckpt')
    cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_save_path, save_weights_only=True)
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=0, callbacks=[cp_callback])
    np.save(os.path.join(args.workdir, 'check_input.npy'), x_check)
    np.save(os.path.join(args.workdir, 'check_probs.npy'), model.predict(x_check, verbose=0))
    print('saved', checkpoint_save_path)


if __name__ == '__main__':
    main()
