'''Adversarial examples for an MNIST CNN with the fast gradient sign method, Keras 2 backend style.

K.placeholder, K.gradients and a K.function fed the learning phase: the graph-era
way (2017-2019) to get at gradients before GradientTape.

Written by the slimcompat team for the corpus tier, in the style of the era.
'''
from __future__ import print_function
import numpy as np
import keras
from keras import backend as K
from keras.datasets import mnist
from keras.models import Sequential
from keras.layers import Dense, Dropout, Flatten, Conv2D, MaxPooling2D

batch_size = 128
num_classes = 10
epochs = 3
epsilon = 0.1

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(x_train.shape[0], 28, 28, 1).astype('float32') / 255
x_test = x_test.reshape(x_test.shape[0], 28, 28, 1).astype('float32') / 255
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Conv2D(16, kernel_size=(3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(64, activation='relu'))
model.add(Dense(num_classes, activation='softmax'))

model.compile(loss=keras.losses.categorical_crossentropy,
              optimizer=keras.optimizers.Adadelta(),
              metrics=['accuracy'])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=1)
print('train accuracy: %.4f' % history.history['acc'][-1])

# d(loss)/d(input), evaluated with dropout off (learning phase 0)
labels = K.placeholder(shape=(None, num_classes))
loss = K.mean(keras.losses.categorical_crossentropy(labels, model.output))
gradient = K.gradients(loss, model.input)[0]
get_gradient = K.function([model.input, labels, K.learning_phase()], [gradient])

x_clean, y_clean = x_test[:256], y_test[:256]
g = get_gradient([x_clean, y_clean, 0])[0]
x_adv = np.clip(x_clean + epsilon * np.sign(g), 0, 1)
clean = model.evaluate(x_clean, y_clean, verbose=0)
adversarial = model.evaluate(x_adv, y_clean, verbose=0)
print('clean loss %.4f accuracy %.4f' % (clean[0], clean[1]))
print('adversarial loss %.4f accuracy %.4f' % (adversarial[0], adversarial[1]))
