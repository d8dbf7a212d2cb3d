"""Seed 003 (/work/shared/seeds/003_*.txt, "TensorFlow2.1入门学习笔记(14)"), InceptionNet 网络搭建示例 (Inception10 on CIFAR-10).

The author's complete TF 2.1 program: a subclassed tf.keras model trained with
ModelCheckpoint(save_weights_only=True, save_best_only=True) to a TF-format `.ckpt`, resuming
from it when `<path>.index` exists, then summary, weights.txt and matplotlib plots.

One edit, marked EDIT below: CIFAR-10 (50,000 images, too slow to train in the tests) is
replaced by a tiny synthetic set of the same shapes and dtypes (uint8 images 32x32x3, uint8
labels of shape (n, 1)): 64 training and 32 test images. Everything else is as written,
bugs included (ConvBNAct.call hard-codes training=False, so BatchNormalization
never trains; a tab in the fit call).
"""
import tensorflow as tf
import numpy as np
import os
import matplotlib.pyplot as plt
from tensorflow.keras.layers import Dense, GlobalAveragePooling2D, Conv2D, MaxPool2D, Activation, BatchNormalization, Dropout
from tensorflow.keras import Model

np.set_printoptions(threshold=np.inf)

cifar10 = tf.keras.datasets.cifar10
# EDIT: a tiny synthetic set of CIFAR-10's shapes and dtypes instead of cifar10.load_data()
(x_train, y_train), (x_test, y_test) = [
    (np.random.default_rng(n).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
     np.random.default_rng(n + 1).integers(0, 10, (n, 1), dtype=np.uint8)) for n in (64, 32)]
x_train, x_test = x_train / 255.0, x_test / 255.0

class ConvBNAct(Model):
    def __init__(self, ch, kernel_size=3, strides=1, padding='same'):
        super(ConvBNAct, self).__init__()
        self.model = tf.keras.models.Sequential([
            Conv2D(ch, kernel_size, strides=strides, padding='same'),
            BatchNormalization(),
            Activation('relu')
        ])
        
    def call(self, x):
        x = self.model(x, training=False)
        return x




class InceptionBlk(Model):
    def __init__(self, ch, strides=1):
        super(InceptionBlk, self).__init__()
        self.ch = ch
        self.strides = strides
        self.c1 = ConvBNAct(ch, kernel_size=1, strides=strides)
        self.c2_1 = ConvBNAct(ch, kernel_size=1, strides=strides)
        self.c2_2 = ConvBNAct(ch, kernel_size=3, strides=1)
        self.c3_1 = ConvBNAct(ch, kernel_size=1, strides=strides)
        self.c3_2 = ConvBNAct(ch, kernel_size=5, strides=1)
        self.p4_1 = MaxPool2D(3, strides=1, padding='same')
        self.p4_2 = ConvBNAct(ch, kernel_size=1, strides=strides)

    def call(self, x):
        x1 = self.c1(x)
        x2_1 = self.c2_1(x)
        x2_2 = self.c2_2(x2_1)
        x3_1 = self.c3_1(x)
        x3_2 = self.c3_2(x3_1)
        x4_1 = self.p4_1(x)
        x4_2 = self.p4_2(x4_1)

        x = tf.concat([x1, x2_2, x3_2, x4_2], axis=3)
        return x


class Inception10(Model):
    def __init__(self, num_blocks, num_classes, init_ch=16, **kwargs):
        super(Inception10, self).__init__(**kwargs)
        self.in_channels = init_ch
        self.out_channels = init_ch
        self.num_blocks = num_blocks
        self.init_ch = init_ch
        self.c1 = ConvBNAct(init_ch)
        self.blocks = tf.keras.models.Sequential()
        for block_id in range(num_blocks):
            for layer_id in range(2):
                if layer_id == 0:
                    block = InceptionBlk(self.out_channels, strides=2)
                else:
                    block = InceptionBlk(self.out_channels, strides=1)
                self.blocks.add(block)

            self.out_channels *= 2
        self.p1 = GlobalAveragePooling2D()
        self.f1 = Dense(num_classes, activation='softmax')

    def call(self, x):
        x = self.c1(x)
        x = self.blocks(x)
        x = self.p1(x)
        y = self.f1(x)
        return y

model = Inception10(num_blocks=2, num_classes=10)

model.compile(optimizer='adam',
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False),
              metrics=['sparse_categorical_accuracy'])

checkpoint_save_path = './checkpoint/Inception10.ckpt'
if os.path.exists(checkpoint_save_path + ".index"):
    print('------------- load the model ------------')
    model.load_weights(checkpoint_save_path)

cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_save_path,
                                                 save_weights_only=True,
                                                 save_best_only=True)

history = model.fit(x_train, y_train, batch_size=128, epochs=5, validation_data=(x_test, y_test),
					validation_freq=1, callbacks=[cp_callback])

model.summary()

file = open('./weights.txt', 'w')
for v in model.trainable_variables:
    file.write(str(v.name) + '\n')
    file.write(str(v.shape) + '\n')
    file.write(str(v.numpy()) + '\n')
file.close()

acc = history.history['sparse_categorical_accuracy']
val_acc = history.history['val_sparse_categorical_accuracy']
loss = history.history['loss']
val_loss = history.history['val_loss']

plt.subplot(1, 2, 1)
plt.plot(acc, label='Training Accuracy')
plt.plot(val_acc, label='Validation Accuracy')
plt.title('Training and Validation Accuracy')
plt.legend()

plt.subplot(1, 2, 2)
plt.plot(loss, label='Training Loss')
plt.plot(val_loss, label='Validation Loss')
plt.title('Training and Validation Loss')
plt.legend()
plt.show()
