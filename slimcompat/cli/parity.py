"""`slimcompat parity A B --weights FILE`: do two implementations compute the same, and if not, where and why?

Layer-name parity first (no forward pass), then every endpoint from one
forward pass per side, then, on failure, the diagnosis of known causes. Exit 0
within tolerance, 1 not, 2 on bad usage (our errors, argparse's).
"""

from slimcompat.cli import arch_options, parity_models
from slimcompat.errors import SlimcompatError
from slimcompat.parity.implementation import IMPLEMENTATIONS, NATIVE_SOURCES

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    names = ", ".join(f"{k} ({v[2]})" for k, v in IMPLEMENTATIONS.items())
    parser.add_argument("a", metavar="A", nargs="?", help=f"reference implementation: {names}")
    parser.add_argument("b", metavar="B", nargs="?", help="implementation compared to A")
    parity_models.add_arguments(parser)
    parser.add_argument("--weights", help="weights for both sides: canonical .h5, slim checkpoint or Keras weight "
                                          "file (default: seeded random weights in A's conventions)")
    arch_options.add_arguments(parser, help_suffix=". Of the random weights (default resnet_v2_50; "
                                                   "resnet_v1_50 when A is keras-legacy), or what a slim "
                                                   "checkpoint given as --weights holds (it records no variant)")
    parser.add_argument("--weights-b", help="other weights for B (default: --weights)")
    parser.add_argument("--input", help="an image (decoded as RGB, resized to --size) or a .npy batch "
                                        "(default: a seeded random batch)")
    parser.add_argument("--no-preprocess", action="store_true",
                        help="feed the batch to both sides as model input, bypassing each side's preprocessing")
    parser.add_argument("--batch", type=int, default=2, help="random batch size (default 2)")
    parser.add_argument("--size", type=int, nargs="+", metavar="H [W]",
                        help="random batch or image size (default 224; a user's model: its own input size)")
    parser.add_argument("--seed", type=int, default=0, help="random batch and random weights seed (default 0)")
    parser.add_argument("--device", default="CPU", help="TensorFlow device, e.g. CPU or GPU:0 (default CPU)")
    parser.add_argument("--tf32", action="store_true", help="leave TensorFloat-32 on (off for parity by default)")
    parser.add_argument("--no-diagnosis", action="store_true", help="skip the diagnosis reruns on failure")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report to FILE ('-': stdout, no table)")
    parser.add_argument("--html", metavar="FILE", help="write the HTML report with its per-endpoint plot to FILE")


def _batch(args):
    from slimcompat.parity import inputs
    args.size = args.size or [224]
    if len(args.size) > 2 or min(args.size) < 32 or args.batch < 1:
        raise SlimcompatError(f"--size takes H or H W of at least 32 and --batch at least 1; "
                              f"found {args.size}, {args.batch}")
    size = (args.size[0], args.size[-1])
    if args.input:
        return inputs.load_batch(args.input, size, preprocess_inputs=not args.no_preprocess)
    return inputs.random_batch((args.batch, *size, 3), args.seed, pixels=not args.no_preprocess)


def _weights(args):
    """The weights file's, or seeded random ones in the conventions A's implementation was written for."""
    from slimcompat.arch import describe, parse_knobs
    from slimcompat.weights import convert, synthetic
    if args.weights:
        return convert.load(args.weights, arch=arch_options.description(args))
    arch = args.arch or ("resnet_v1_50" if args.a == "keras-legacy" else "resnet_v2_50")
    source = args.source or NATIVE_SOURCES[args.a]
    try:
        base = describe(arch, source=source)
    except SlimcompatError:
        if args.source:
            raise
        base, source = describe(arch), None
    knobs = parse_knobs(args.variant, base.family) if args.variant else {}
    return synthetic.random_weights(base.replace(**knobs), source=source, seed=args.seed)


def _write(path, text):
    from slimcompat.weights.atomic import atomic_output
    with atomic_output(path, overwrite=True, keep_suffix=True) as tmp:
        tmp.write_text(text)


def _check_device(device):
    import tensorflow as tf
    kind, _, index = device.upper().partition(":")
    visible = tf.config.list_logical_devices(kind) if kind in ("CPU", "GPU") else []
    if not visible or (index and (not index.isdigit() or int(index) >= len(visible))):
        raise SlimcompatError(f"device {device!r} is not visible to TensorFlow "
                              f"(visible: {', '.join(d.name for d in tf.config.list_logical_devices())})")


def run(args):
    from slimcompat.parity import check, render_html, render_json, render_text
    from slimcompat.weights import convert
    if parity_models.active(args):
        args.a, args.b = parity_models.sides(args, IMPLEMENTATIONS)
        args.size = parity_models.size(args, args.a, args.b)
    elif args.a not in IMPLEMENTATIONS or args.b not in IMPLEMENTATIONS:
        raise SlimcompatError(f"parity A B: implementations are {', '.join(IMPLEMENTATIONS)} (or a user's model: "
                              f"--model-a/--model-b); found {args.a}, {args.b}")
    batch = _batch(args)
    _check_device(args.device)
    weights = parity_models.weights(args, args.a, args.b) if parity_models.active(args) else _weights(args)
    weights_b = convert.load(args.weights_b) if args.weights_b else None
    report = check.parity(args.a, args.b, weights, batch, weights_b=weights_b, device=args.device,
                          tf32=args.tf32, run_diagnosis=not args.no_diagnosis)
    if args.json == "-":
        print(render_json.render(report), end="")
    else:
        print(render_text.render(report), end="")
        if args.json:
            _write(args.json, render_json.render(report))
    if args.html:
        _write(args.html, render_html.render(report))
    return 0 if report["ok"] else 1
