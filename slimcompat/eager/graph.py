"""The same slim model function as a TF1 graph + Session: the reference the eager layer is held to.

`GraphNet` builds a SlimLayer's function (same arg scope, same arguments) in a
fresh `tf.Graph`, as the TF1 program did, and restores the layer's weights
into it through a slim checkpoint written by `save_slim_checkpoint`, so the
comparison also proves that such a checkpoint loads into the TF1 graph.
"""

import pathlib
import tempfile

import numpy as np

from slimcompat.arch.mapping import check_mapping

__all__ = ["GraphNet"]


class GraphNet:
    """`layer`'s model function in its own TF1 graph and Session, weights restored from `layer`.

    input_shape: the placeholder's [batch, H, W, C] (None entries allowed). fixed_input: an array held in a graph
    variable (the seed program's benchmark input: no feed per step); otherwise
    the input is a placeholder fed by `run`. training: slim's is_training.
    Inside `with net.graph.as_default():` callers may add losses and train ops;
    `net.outputs`, `net.end_points`, `net.images` are the graph's tensors.
    """

    def __init__(self, layer, input_shape=None, training=False, fixed_input=None, session_config=None):
        import tensorflow as tf
        from slimcompat.eager.variables import save_slim_checkpoint, slim_variables
        v1 = tf.compat.v1
        expected = {n: tuple(v.shape) for n, v in slim_variables(layer).items()}
        self.graph = tf.Graph()
        with tempfile.TemporaryDirectory() as folder:
            prefix = save_slim_checkpoint(layer, pathlib.Path(folder) / "eager.ckpt")
            with self.graph.as_default():
                if fixed_input is not None:
                    self.images = v1.Variable(np.asarray(fixed_input, np.float32), trainable=False,
                                              name="fixed_input")
                else:
                    self.images = v1.placeholder(tf.float32, tuple(input_shape), name="images")
                self.outputs, self.end_points = layer.forward(self.images, training)
                model = [v for v in v1.global_variables() if v is not self.images]
                check_mapping(expected, {v.op.name: tuple(v.shape.as_list()) for v in model},
                              "TF1 graph of the layer")
                self.session = v1.Session(graph=self.graph, config=session_config)
                self.session.run(v1.global_variables_initializer())
                v1.train.Saver(model).restore(self.session, str(prefix))

    def run(self, fetches=None, images=None):
        """session.run(fetches, feeding `images` unless the input is fixed); default fetch: outputs."""
        fetches = self.outputs if fetches is None else fetches
        feed = None if images is None else {self.images: np.asarray(images, np.float32)}
        return self.session.run(fetches, feed)

    def close(self):
        self.session.close()
