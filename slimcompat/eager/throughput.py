"""Forward throughput of one slim ResNet three ways, measured side by side in one process.

Paths, all on the same weights and the same fixed batch, inference mode:
- `graph`: the seed program's protocol (`time_tensorflow_run`): the slim net in
  a TF1 graph + Session, the batch held in a graph variable, session.run per step.
- `eager`: the SlimLayer under tf.function.
- `keras`: the Keras 3 model built faithful to the same description
  (`keras_net.build`) under tf.function: the native model.
- `split`: for grouped convolutions (ResNeXt), the same Keras model with one
  Conv2D per group, split and concatenated (seed 002's layout), to measure
  which of the two layouts is faster.

Each path first runs its burn-in steps untimed; then `rounds` rounds each time
`steps` batches of every path, the order rotating per round, so drift in a
noisy machine's speed falls on all paths alike. FLOPs come from TensorFlow's
profiler on the TF1 graph (`float_operation`: 2 per multiply-add of convs and
matmuls, plus elementwise ops that register a count).
"""

import dataclasses
import math
import time
from typing import Dict, List

import numpy as np

__all__ = ["PATHS", "Timing", "Report", "measure", "graph_flops"]

PATHS = ("graph", "eager", "keras", "split")
NATIVE = "keras"


@dataclasses.dataclass
class Timing:
    """Seconds per batch of one path over all timed steps."""

    path: str
    seconds: List[float]
    batch: int

    @property
    def mean(self):
        return sum(self.seconds) / len(self.seconds)

    @property
    def sd(self):
        """As the seed program computes it: sqrt(E[t^2] - E[t]^2)."""
        m = self.mean
        return math.sqrt(max(sum(t * t for t in self.seconds) / len(self.seconds) - m * m, 0.0))

    @property
    def images_per_second(self):
        return self.batch / self.mean

    def images_per_second_sd(self):
        """sd of images/s from the sd of sec/batch (first order)."""
        return self.images_per_second * self.sd / self.mean


@dataclasses.dataclass
class Report:
    arch: str
    batch: int
    image_size: int
    flops_per_batch: int
    timings: Dict[str, Timing]
    max_output_diff: Dict[str, float]
    max_output: Dict[str, float]
    native: str
    jit: bool

    def as_dict(self):
        out = {"arch": self.arch, "batch": self.batch, "image_size": self.image_size, "jit_compile": self.jit,
               "flops_per_image": self.flops_per_batch // self.batch, "flops_source": "tf.profiler float_operation "
               "on the TF1 graph", "native": self.native, "paths": {}}
        native = self.timings.get(NATIVE)
        for name, t in self.timings.items():
            out["paths"][name] = {
                "sec_per_batch_mean": t.mean, "sec_per_batch_sd": t.sd, "timed_steps": len(t.seconds),
                "images_per_sec": t.images_per_second, "images_per_sec_sd": t.images_per_second_sd(),
                "gflops_per_sec": self.flops_per_batch / t.mean / 1e9,
                "ratio_to_native": t.images_per_second / native.images_per_second if native else None,
                "max_abs_output_diff_to_eager": self.max_output_diff.get(name),
                "max_abs_output": self.max_output[name]}
        return out


def graph_flops(graph):
    """Total float operations of `graph` by TensorFlow's profiler (shapes must be fully defined)."""
    import tensorflow as tf
    v1 = tf.compat.v1
    options = v1.profiler.ProfileOptionBuilder(v1.profiler.ProfileOptionBuilder.float_operation()) \
        .with_empty_output().build()
    return int(v1.profiler.profile(graph, options=options).total_float_ops)


def _runners(arch, num_classes, images, paths, jit):
    """{path: (zero-argument step function, outputs once)}, all paths on the layer's weights."""
    import tensorflow as tf
    from slimcompat.eager.graph import GraphNet
    from slimcompat.eager.nets import net_layer
    from slimcompat.eager.variables import to_weights
    layer = net_layer(arch, num_classes)
    batch = tf.constant(images)
    runners, flops = {}, None
    if "eager" in paths:
        eager = tf.function(lambda: layer(batch, training=False), jit_compile=jit)
        runners["eager"] = eager
    for path, grouped in (("keras", "native"), ("split", "split")):
        if path in paths:
            runners[path] = _keras_runner(to_weights(layer), grouped, batch, jit)
    net = GraphNet(layer, fixed_input=images, session_config=_session_config(jit))
    flops = graph_flops(net.graph)
    if "graph" in paths:
        runners["graph"] = lambda: net.session.run(net.outputs)
    else:
        net.close()
    return runners, flops


def _keras_runner(weights, grouped, batch, jit):
    import tensorflow as tf
    from slimcompat.nets import keras_net
    description = weights.meta.description
    model = keras_net.build(description, input_shape=batch.shape[1:], grouped=grouped)
    keras_net.set_canonical_weights(model, description, "keras", weights.tensors)
    return tf.function(lambda: model(batch, training=False), jit_compile=jit)


def default_paths(description):
    """Every path that means something for `description` (`split` only where convs are grouped)."""
    grouped = getattr(description, "groups", 1) > 1
    return tuple(p for p in PATHS if p != "split" or grouped)


def _session_config(jit):
    import tensorflow as tf
    config = tf.compat.v1.ConfigProto()
    if jit:
        config.graph_options.optimizer_options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1
    return config


def _numpy(value):
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def measure(arch="resnet_v2_50", batch=32, image_size=224, steps=4, rounds=5, burn_in=10,
            paths=None, num_classes="default", jit=False, seed=0, log=None):
    """Report of `paths` measured side by side (see module doc). log: optional callable(str)."""
    from slimcompat.arch import describe
    arch = describe(arch)
    paths = paths or default_paths(arch)
    images = np.random.default_rng(seed).uniform(-1, 1, (batch, image_size, image_size, 3)).astype(np.float32)
    runners, flops = _runners(arch, num_classes, images, paths, jit)
    outputs = {name: _numpy(run()) for name, run in runners.items()}
    reference = outputs.get("eager")
    diffs = {} if reference is None else {n: float(np.abs(o - reference).max()) for n, o in outputs.items()}
    largest = {name: float(np.abs(out).max()) for name, out in outputs.items()}
    for name, run in runners.items():
        for _ in range(burn_in):
            _numpy(run())
        if log:
            log(f"{name}: {burn_in} burn-in steps done")
    seconds = {name: [] for name in runners}
    order = list(runners)
    for r in range(rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:
            for _ in range(steps):
                start = time.perf_counter()
                _numpy(runners[name]())
                seconds[name].append(time.perf_counter() - start)
        if log:
            log(f"round {r + 1}/{rounds}: " + ", ".join(
                f"{n} {batch / (sum(s[-steps:]) / steps):.1f} img/s" for n, s in seconds.items()))
    timings = {name: Timing(name, s, batch) for name, s in seconds.items()}
    return Report(arch.name, batch, image_size, flops, timings, diffs, largest, NATIVE, jit)
