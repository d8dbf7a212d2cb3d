'''LSTM sentiment classifier on IMDB with the Keras 1 functional API
(Model(input=, output=), dropout_W / dropout_U, nb_epoch).

Written by the slimcompat team for the corpus tier, in the style of the era.
'''
from __future__ import print_function
from keras.preprocessing import sequence
from keras.models import Model
from keras.layers import Input, Dense, Embedding, LSTM
from keras.datasets import imdb

max_features = 5000
maxlen = 80
batch_size = 32

print('Loading data...')
(X_train, y_train), (X_test, y_test) = imdb.load_data(nb_words=max_features)
X_train = sequence.pad_sequences(X_train, maxlen=maxlen)
X_test = sequence.pad_sequences(X_test, maxlen=maxlen)

review = Input(shape=(maxlen,), dtype='int32')
embedded = Embedding(max_features, 64, dropout=0.2)(review)
encoded = LSTM(32, dropout_W=0.2, dropout_U=0.2)(embedded)
prediction = Dense(1, activation='sigmoid')(encoded)
model = Model(input=review, output=prediction)

model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
model.fit(X_train, y_train, batch_size=batch_size, nb_epoch=15, validation_data=(X_test, y_test))
score, acc = model.evaluate(X_test, y_test, batch_size=batch_size)
print('Test score:', score)
print('Test accuracy:', acc)
