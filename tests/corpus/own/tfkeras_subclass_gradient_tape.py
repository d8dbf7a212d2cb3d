"""A subclassed tf.keras.Model trained with GradientTape inside tf.function, checkpointed with
tf.train.CheckpointManager and restored: the TF 2.0-2.3 custom-training-loop style.

Written by the slimcompat team for the corpus tier, in the style of the era.
"""
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
x_train = x_train[..., tf.newaxis].astype('float32')
x_test = x_test[..., tf.newaxis].astype('float32')
train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(32)


class MyModel(tf.keras.Model):
    def __init__(self):
        super(MyModel, self).__init__()
        self.conv1 = tf.keras.layers.Conv2D(8, 3, activation='relu')
        self.flatten = tf.keras.layers.Flatten()
        self.d1 = tf.keras.layers.Dense(64, activation='relu')
        self.d2 = tf.keras.layers.Dense(10)

    def call(self, x):
        return self.d2(self.d1(self.flatten(self.conv1(x))))


model = MyModel()
loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = tf.keras.optimizers.Adam()
train_loss = tf.keras.metrics.Mean(name='train_loss')
ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=optimizer, net=model)
manager = tf.train.CheckpointManager(ckpt, './tf_ckpts', max_to_keep=3)


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        loss = loss_object(labels, model(images))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    train_loss(loss)


for epoch in range(3):
    train_loss.reset_states()
    for images, labels in train_ds:
        train_step(images, labels)
    ckpt.step.assign_add(1)
    print('Epoch {}, Loss: {:.4f}, saved {}'.format(epoch + 1, train_loss.result(), manager.save()))

restored = MyModel()
status = tf.train.Checkpoint(net=restored).restore(manager.latest_checkpoint)
restored(x_test[:1])
status.assert_existing_objects_matched()
difference = float(tf.reduce_max(tf.abs(restored(x_test) - model(x_test))))
print('restored from {}, largest difference {}'.format(manager.latest_checkpoint, difference))
assert difference == 0.0
