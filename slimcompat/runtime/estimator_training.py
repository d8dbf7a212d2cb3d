"""Stands in for `tensorflow.python.distribute.estimator_training`, gone with tf.estimator.

tensorflow-estimator 2.15.0, the last release, imports it at top level and
asks it two questions on every run: whether the distribute coordinator runs
training (`should_run_distribute_coordinator`), and how a RunConfig given a
distribution strategy is set up (`init_run_config`). On one machine the
answers need nothing from the coordinator: it never runs, and the config is
set up as for any other local run. Multi-worker training through the
coordinator (a TF_CONFIG cluster without a `master` job, or
`experimental_distribute.remote_cluster`) is what is gone; it fails in one line.
"""

from slimcompat.runtime.aliases import RemovedAPIError

__all__ = ["should_run_distribute_coordinator", "init_run_config", "train_and_evaluate", "estimator_train",
           "estimator_evaluate"]

_GONE = ("multi-worker tf.estimator training through the distribute coordinator was removed from TensorFlow "
         "with tf.estimator; slimcompat serves tf.estimator on one machine (unset TF_CONFIG's cluster, or give "
         "it a `master` job)")


def should_run_distribute_coordinator(config):
    """Whether training goes through the distribute coordinator: never, since init_run_config never sets it."""
    return bool(getattr(config, "_distribute_coordinator_mode", None))


def init_run_config(config, tf_config):
    """Set up `config` (a RunConfig given a distribution strategy) for training on this machine."""
    # pylint: disable=protected-access
    nested = config._experimental_distribute
    for kind in ("train", "eval"):
        chosen = getattr(nested, f"{kind}_distribute", None) if nested is not None else None
        if chosen is not None:
            if getattr(config, f"_{kind}_distribute") is not None:
                raise ValueError(f"Either `{kind}_distribute` or `experimental_distribute.{kind}_distribute` "
                                 f"can be set.")
            setattr(config, f"_{kind}_distribute", chosen)
    cluster = tf_config.get("cluster") or {}
    remote = getattr(nested, "remote_cluster", None) if nested is not None else None
    if remote or (cluster and "master" not in cluster and config._train_distribute is not None):
        raise RemovedAPIError(f"tf.estimator.RunConfig: {_GONE}")
    config._distribute_coordinator_mode = None
    config._init_distributed_setting_from_environment_var(tf_config)
    config._maybe_overwrite_session_config_for_distributed_training()


def _gone(*args, **kwargs):
    raise RemovedAPIError(f"tensorflow.python.distribute.estimator_training: {_GONE}")


train_and_evaluate = estimator_train = estimator_evaluate = _gone
