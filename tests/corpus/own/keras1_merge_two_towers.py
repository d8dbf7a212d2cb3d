'''Two convolutional towers over the same MNIST digit, merged, Keras 1 style
(merge(mode='concat'), Convolution2D with subsample, nb_epoch).

Written by the slimcompat team for the corpus tier, in the style of the era.
'''
from __future__ import print_function
from keras.datasets import mnist
from keras.layers import Input, Convolution2D, MaxPooling2D, Flatten, Dense, merge
from keras.models import Model
from keras.utils.np_utils import to_categorical

(X_train, y_train), (X_test, y_test) = mnist.load_data()
X_train = X_train.reshape(-1, 28, 28, 1).astype('float32') / 255.
X_test = X_test.reshape(-1, 28, 28, 1).astype('float32') / 255.
Y_train, Y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)

digit = Input(shape=(28, 28, 1))
left = Convolution2D(16, 3, 3, activation='relu', border_mode='same')(digit)
left = MaxPooling2D((2, 2))(left)
right = Convolution2D(16, 5, 5, activation='relu', border_mode='same', subsample=(2, 2))(digit)
towers = merge([left, right], mode='concat', concat_axis=-1)
out = Dense(10, activation='softmax')(Flatten()(towers))

model = Model(input=digit, output=out)
model.compile(optimizer='adadelta', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(X_train, Y_train, nb_epoch=10, batch_size=64, validation_data=(X_test, Y_test))
print('Test accuracy:', model.evaluate(X_test, Y_test, verbose=0)[1])
