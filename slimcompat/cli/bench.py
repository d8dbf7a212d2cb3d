"""`slimcompat bench`: forward images/s of a slim ResNet as TF1 graph, eager layer and native Keras.

The three paths run side by side in one process, interleaved, on the same
weights and batch (see `slimcompat.eager.throughput`); the table gives
images/s mean +/- sd, the ratio to native Keras and the GFLOP/s achieved.
"""

import sys

from slimcompat.cli import arch_options
from slimcompat.errors import SlimcompatError

__all__ = ["add_arguments", "run"]

_MIN_IMAGE = 32


def add_arguments(parser):
    arch_options.add_arguments(parser, default="resnet_v2_50", help_suffix=" (default resnet_v2_50)")
    parser.add_argument("--batch", type=int, default=32, help="images per batch (default 32)")
    parser.add_argument("--image-size", type=int, default=224, help="height and width (default 224)")
    parser.add_argument("--steps", type=int, default=4, help="timed batches per path per round (default 4)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--burn-in", type=int, default=10, help="untimed batches per path first (default 10)")
    parser.add_argument("--paths", nargs="+", metavar="PATH",
                        help="which paths to time: graph, eager, keras, split (default all; split only for "
                             "grouped convolutions)")
    parser.add_argument("--jit", action="store_true", help="XLA: jit_compile on both tf.functions, "
                        "global_jit_level ON_1 in the Session (on CPU the Session clusters only with "
                        "TF_XLA_FLAGS=--tf_xla_cpu_global_jit); diagnostic: on this CPU XLA is slower than oneDNN")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _check(args):
    for name in ("batch", "steps", "rounds"):
        if getattr(args, name) < 1:
            raise SlimcompatError(f"--{name} must be at least 1, found {getattr(args, name)}")
    if args.burn_in < 0:
        raise SlimcompatError(f"--burn-in must be at least 0, found {args.burn_in}")
    if args.image_size < _MIN_IMAGE:
        raise SlimcompatError(f"--image-size must be at least {_MIN_IMAGE} (five stride-2 steps), "
                              f"found {args.image_size}")


def run(args):
    """Times the paths; TensorFlow is imported only here, so `slimcompat inspect` and friends stay fast."""
    _check(args)
    description = arch_options.description(args)    # a misspelt --arch is refused before TensorFlow loads
    from slimcompat.eager import throughput
    unknown = sorted(set(args.paths or ()) - set(throughput.PATHS))
    if unknown:
        raise SlimcompatError(f"--paths: unknown {', '.join(unknown)}; known: {', '.join(throughput.PATHS)}")
    log = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        report = throughput.measure(description, args.batch, args.image_size, args.steps, args.rounds, args.burn_in,
                                    paths=tuple(args.paths or ()), jit=args.jit, log=log)
    except ValueError as exc:
        raise SlimcompatError(str(exc)) from None
    data = report.as_dict()
    if args.json:
        import json
        print(json.dumps(data, indent=1))
        return 0
    _print_table(data)
    return 0


_PATH_LABELS = {
    "graph": "TF1 graph + Session (seed protocol)",
    "eager": "slim eager layer, tf.function",
    "keras": "native Keras 3 model (keras_net.build, faithful to the description), tf.function",
    "split": "the same Keras model with one Conv2D per group (seed 002's ResNeXt layout), tf.function",
}


def _print_table(data):
    gflop = data["flops_per_image"] / 1e9
    print(f"{data['arch']}, batch {data['batch']} at {data['image_size']}x{data['image_size']}, "
          f"{gflop:.2f} GFLOP/image ({data['flops_source']}), jit_compile {'on' if data['jit_compile'] else 'off'}")
    print(f"{'path':<8} {'sec/batch':>17} {'images/s':>15} {'x native':>9} {'GFLOP/s':>8} {'max|diff|':>10}")
    for name, p in data["paths"].items():
        ratio = "-" if p["ratio_to_native"] is None else f"{p['ratio_to_native']:.3f}"
        print(f"{name:<8} {p['sec_per_batch_mean']:>8.3f} +/- {p['sec_per_batch_sd']:.3f} "
              f"{p['images_per_sec']:>7.1f} +/- {p['images_per_sec_sd']:<5.1f} {ratio:>9} "
              f"{p['gflops_per_sec']:>8.1f} {_diff(p['max_abs_output_diff_to_eager']):>10}")
    for name in data["paths"]:
        print(f"  {name}: {_PATH_LABELS[name]}")
    largest = max(p["max_abs_output"] for p in data["paths"].values())
    print(f"  native = {data['native']}; max|diff| = largest output difference to the eager layer "
          f"(largest |output| {largest:.3g})")


def _diff(value):
    return "-" if value is None else f"{value:.2e}"
