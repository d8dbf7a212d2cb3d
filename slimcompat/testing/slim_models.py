"""Real slim checkpoints for tests: tf_slim.nets graphs (or slimcompat's slim nets for other
architectures) saved by tf.compat.v1.train.Saver.

Graphs are built inside `tf.Graph()` contexts, so callers stay in eager mode
(Keras 3 needs it) while the slim side runs as TF1 graph + Session.
"""

import numpy as np

import slimcompat  # noqa: F401  (repairs tf_slim before it is imported)
from slimcompat.arch import describe

INPUT = np.random.default_rng(7).uniform(-1, 1, (1, 64, 64, 3)).astype(np.float32)

def tf_module():
    import tensorflow as tf
    return tf


def slim_net(family, num_classes, inputs, is_training=False, end_points=False):
    """tf_slim.nets' own `{family}_50` for a family name ('resnet_v2'), else slimcompat's slim net of a name
    or description ('resnet_v1_18')."""
    import tf_slim as slim
    if family in ("resnet_v1", "resnet_v2"):
        from tf_slim.nets import resnet_v1, resnet_v2
        module = {"resnet_v1": resnet_v1, "resnet_v2": resnet_v2}[family]
        net_fn, scope = getattr(module, f"{family}_50"), module.resnet_arg_scope()
    else:
        from slimcompat.nets import slim_net as nets
        description = describe(family)
        net_fn, scope = nets.net_fn(description), nets.arg_scope_for(description)
    with slim.arg_scope(scope):
        net, points = net_fn(inputs, num_classes, is_training=is_training)
    return (net, points) if end_points else net


def randomize_batch_norm(session, seed):
    """Give every BatchNorm parameter distinct values, so a misplaced one changes the logits."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for var in tf_module().compat.v1.global_variables():
        leaf, shape = var.op.name.rpartition("/")[2], var.shape.as_list()
        if leaf in ("gamma", "moving_variance"):
            feeds[var.initializer.inputs[1]] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif leaf in ("beta", "moving_mean"):
            feeds[var.initializer.inputs[1]] = rng.normal(0, 0.1, shape).astype(np.float32)
    session.run([t.consumers()[0] for t in feeds], feeds)


def _save_both(session, folder):
    """{'V2': prefix, 'V1': file} of this session's variables, saved by Saver in both formats."""
    v1 = tf_module().compat.v1
    out = {}
    for version in ("V2", "V1"):
        (folder / version).mkdir()
        prefix = folder / version / "model.ckpt"
        saver = v1.train.Saver(write_version=getattr(v1.train.SaverDef, version))
        saver.save(session, str(prefix), write_meta_graph=False, write_state=version == "V2")
        out[version] = prefix
    return out


def build_slim_checkpoint(folder, family, num_classes, seed=0, images=INPUT):
    """Save a randomly initialised slim net in V2 and V1; returns (paths, outputs for `images`)."""
    tf = tf_module()
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        v1.set_random_seed(seed)
        inputs = v1.placeholder(tf.float32, images.shape)
        net = slim_net(family, num_classes, inputs)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            randomize_batch_norm(session, seed)
            paths = _save_both(session, folder)
            return paths, session.run(net, {inputs: images})


def slim_outputs(family, num_classes, checkpoint, images=INPUT, end_points=False):
    """Outputs for `images` of a freshly built slim graph restored by Saver from `checkpoint`.

    end_points: also return slim's {end point name: value}.
    """
    tf = tf_module()
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        inputs = v1.placeholder(tf.float32, images.shape)
        net, points = slim_net(family, num_classes, inputs, end_points=True)
        with v1.Session() as session:
            v1.train.Saver().restore(session, str(checkpoint))
            out = session.run((net, points) if end_points else net, {inputs: images})
    return out


