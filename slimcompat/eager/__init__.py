"""TF2-native slim: a slim model function as a tf-keras layer, eager or under tf.function.

The TF1 model code is not rewritten: it runs inside tf-keras' own modeling shim
(`track_tf1_style_variables`), which gives every `tf.compat.v1.get_variable`
(and so every slim layer) the variable it would have had in a TF1 graph, once,
named as in the TF1 checkpoint (`resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/weights`).
So slim checkpoints and canonical files load into it by name, and a checkpoint
written from it restores into the TF1 graph.

    import slimcompat.eager as se
    layer = se.net_layer("resnet_v2_50", num_classes=10)         # built, variables created (any family)
    se.load_weights(layer, "resnet_v2_50.h5")                    # or a canonical.Weights, or a slim checkpoint
    logits, end_points = layer.infer(images)                     # numpy in, numpy out, inference mode
    model = se.keras_model(layer, (224, 224, 3))                 # tf_keras.Model: fit, evaluate, save
    se.save_slim_checkpoint(layer, "out/model.ckpt")             # restores into the TF1 graph
    se.export_saved_model(model, "exported/")                    # serving signature `serving_default`

`GraphNet(layer, input_shape)` runs the same function as a TF1 graph + Session
with the layer's weights restored by Saver: the reference the layer is held to.

Any slim-style function works, with or without an arg_scope:

    layer = se.SlimLayer(my_net, arg_scope=my_arg_scope, num_classes=5)

Why tf-keras and not Keras 3: the shim exists only in tf-keras (Keras 3 has no
`track_tf1_style_variables`, and `tf.compat.v1.keras` points at Keras 3 when it
is installed), and tf_slim's own `batch_norm` builds tf-keras legacy layers. So
the layer, its model, `fit` and the optimizers are tf-keras objects.
"""

from slimcompat.eager.layer import SlimLayer, track_tf1_style_variables
from slimcompat.eager.export import export_saved_model, keras_model
from slimcompat.eager.graph import GraphNet
from slimcompat.eager.nets import net_layer, resnet_layer, slim_net_fn
from slimcompat.eager.variables import (
    load_checkpoint, load_weights, save_slim_checkpoint, slim_variables, to_weights)

__all__ = [
    "SlimLayer", "track_tf1_style_variables",
    "net_layer", "resnet_layer", "slim_net_fn",
    "slim_variables", "load_weights", "load_checkpoint", "to_weights", "save_slim_checkpoint",
    "keras_model", "export_saved_model", "GraphNet",
]
