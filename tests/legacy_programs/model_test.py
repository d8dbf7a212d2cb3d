# A TF1-era program in the style of its time, kept unmodified: tests run it through `slimcompat run`.
import tensorflow as tf
import tensorflow.contrib.slim as slim
from tensorflow.contrib.slim.nets import resnet_v2, resnet_utils

class ResnetTest(tf.test.TestCase):
    def testEndPoints(self):
        with self.test_session() as sess:
            x = tf.random_uniform([1, 64, 64, 3])
            with slim.arg_scope(resnet_utils.resnet_arg_scope()):
                net, eps = resnet_v2.resnet_v2_50(x, 10, is_training=False)
            sess.run(tf.global_variables_initializer())
            self.assertEqual(sess.run(net).shape, (1, 1, 1, 10))
            self.assertIn('resnet_v2_50/block4', eps)

    def testConv2dSame(self):
        x = tf.ones([1, 5, 5, 1])
        y = resnet_utils.conv2d_same(x, 1, 3, stride=2, scope='c')
        self.assertEqual(y.get_shape().as_list(), [1, 3, 3, 1])

if __name__ == '__main__':
    tf.test.main()
