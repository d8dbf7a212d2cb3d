"""Seed 003 (/work/shared/seeds/003_*.txt, "TensorFlow2.1入门学习笔记(14)"), ResNet 网络搭建示例 (ResNet18 on CIFAR-10).

The author's complete TF 2.1 program: a subclassed tf.keras model trained with
ModelCheckpoint(save_weights_only=True, save_best_only=True) to a TF-format `.ckpt`, resuming
from it when `<path>.index` exists, then summary, weights.txt and matplotlib plots.

One edit, marked EDIT below: CIFAR-10 (50,000 images, too slow to train in the tests) is
replaced by a tiny synthetic set of the same shapes and dtypes (uint8 images 32x32x3, uint8
labels of shape (n, 1)): 64 training and 32 test images. Everything else is as written,
bugs included (`block_list != 0` is always true, so every stage's first block
strides by 2; AveragePooling2D() leaves a (1, 1) map before Dense; tab indentation).
"""
import tensorflow as tf 
import numpy as np
import os
from tensorflow.keras.layers import Flatten, Conv2D, Dense, Activation, MaxPool2D, Dropout, BatchNormalization
from tensorflow.keras import Model
from matplotlib import pyplot as plt 

np.set_printoptions(threshold=np.inf)

cifar10 = tf.keras.datasets.cifar10
# EDIT: a tiny synthetic set of CIFAR-10's shapes and dtypes instead of cifar10.load_data()
(x_train, y_train), (x_test, y_test) = [
    (np.random.default_rng(n).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
     np.random.default_rng(n + 1).integers(0, 10, (n, 1), dtype=np.uint8)) for n in (64, 32)]
x_train, x_test = x_train / 255.0, x_test / 255.0


class ResBlock(Model):

	def __init__(self, filters, strides=1, residual_path=False):
		super(ResBlock, self).__init__()
		self.filters = filters
		self.strides = strides
		self.residual_path = residual_path

		self.c1 = Conv2D(filters, (3, 3), strides=strides, padding='same', use_bias=False)
		self.b1 = BatchNormalization()
		self.a1 = Activation('relu')

		self.c2 = Conv2D(filters, (3, 3), strides=1, padding='same', use_bias=False)
		self.b2 = BatchNormalization()

		if residual_path:
			self.down_c1 = Conv2D(filters, (1, 1), strides=strides, padding='same', use_bias=False)
			self.down_b1 = BatchNormalization()

		self.a2 = Activation('relu')

	def call(self, inputs):
		residual = inputs
		x = self.c1(inputs)
		x = self.b1(x)
		x = self.a1(x)

		x = self.c2(x)
		y = self.b2(x)

		if self.residual_path:
			residual = self.down_c1(inputs)
			residual = self.down_b1(residual)
		
		out = self.a2(y + residual)
		return out

class ResNet(Model):
	def __init__(self, block_list, initial_filters=64):
		super(ResNet, self).__init__()
		self.num_blocks = len(block_list)
		self.block_list = block_list
		self.out_filters = initial_filters

		self.c1 = Conv2D(self.out_filters, (3, 3), strides=1, padding='same', use_bias=False)
		self.b1 = BatchNormalization()
		self.a1 = Activation('relu')
		self.blocks = tf.keras.Sequential()
		for block_id in range(len(block_list)):
			for layers_id in range(block_list[block_id]):
				if block_list != 0 and layers_id == 0:
					block = ResBlock(self.out_filters, strides=2, residual_path=True)
				else:
					block = ResBlock(self.out_filters, residual_path=False)
				self.blocks.add(block)
			self.out_filters *= 2
		self.p1 = tf.keras.layers.AveragePooling2D()
		self.f1 = Dense(10, activation='softmax', kernel_regularizer=tf.keras.regularizers.l2())

	def call(self, inputs):
		x = self.c1(inputs)
		x = self.b1(x)
		x = self.a1(x)
		x = self.blocks(x)
		x = self.p1(x)
		y = self.f1(x)
		return y

def Resnet18():
	return ResNet([2, 2, 2, 2])
def Resnet34():
    return ResNet([3, 4, 6, 3])
	

model = Resnet18()

model.compile(optimizer='adam',
				loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False),
				metrics=['sparse_categorical_accuracy'])

checkpoint_save_path = './checkpoint/ResNet18.ckpt'
if os.path.exists(checkpoint_save_path + '.index'):
	print('--------------- load the model -----------------')
	model.load_weights(checkpoint_save_path)

cp_callback = tf.keras.callbacks.ModelCheckpoint(filepath=checkpoint_save_path,
												save_weights_only=True,
												save_best_only=True)

history = model.fit(x_train, y_train, batch_size=32, epochs=5, validation_data=(x_test, y_test), validation_freq=1,
                    callbacks=[cp_callback])


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
