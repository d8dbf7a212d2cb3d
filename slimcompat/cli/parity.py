"""`slimcompat parity A B --weights FILE`: do two implementations compute the same, and if not, where and why?

Layer-name parity first (no forward pass), then every endpoint from one
forward pass per side, then, on failure, the diagnosis of known causes. Exit 0
within tolerance, 1 not, 2 on bad usage (our errors, argparse's), 3 when refused
(slimcompat.errors.Refusal: e.g. keras-stock for weights it has no model of).
The batch is as large as the weights record, unless --size says otherwise.

`--save-reference ref.npz` also writes A's endpoints (TensorFlow, CPU, float32;
B may be left out to write only them); `slimcompat parity torch --reference
ref.npz --weights w.safetensors [--device cuda] [--tf32] [--dtype bfloat16]`
checks the faithful PyTorch module against such a file without importing
TensorFlow (slimcompat.parity.reference, torch_side).
"""

import warnings

from slimcompat.cli import arch_options, model_options, parity_models, report_output
from slimcompat.errors import SlimcompatError
from slimcompat.parity.implementation import IMPLEMENTATIONS, NATIVE_SOURCES, create

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    names = ", ".join(f"{k} ({v[2]})" for k, v in IMPLEMENTATIONS.items())
    parser.add_argument("a", metavar="A", nargs="?",
                        help=f"reference implementation (with --reference: the side checked, torch): {names}")
    parser.add_argument("b", metavar="B", nargs="?",
                        help="implementation compared to A (optional with --save-reference)")
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
                        help="random batch or image size (default: the size the weights record, a user's "
                             "model's own input size, else 224)")
    parser.add_argument("--seed", type=int, default=0, help="random batch and random weights seed (default 0)")
    parser.add_argument("--device", default="CPU", help="TensorFlow device, e.g. CPU or GPU:0 (default CPU); with "
                                                        "--reference a PyTorch device: cpu, cuda, cuda:1, mps")
    parser.add_argument("--tf32", action="store_true", help="leave TensorFloat-32 on (off for parity by default)")
    parser.add_argument("--save-reference", metavar="FILE",
                        help="also write the batch and A's every endpoint (TensorFlow, CPU, float32) to FILE (.npz)")
    parser.add_argument("--reference", metavar="FILE",
                        help="check A (torch) against the endpoints saved in FILE, TensorFlow not imported; "
                             "--weights: the weights converted for PyTorch (default: regenerated, for a reference "
                             "made with seeded random weights)")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                        help="with --reference: the PyTorch module's dtype (default float32)")
    parser.add_argument("--no-diagnosis", action="store_true", help="skip the diagnosis reruns on failure")
    report_output.add_arguments(parser)


def _check_batch(args):
    if args.size and (len(args.size) > 2 or min(args.size) < 32) or args.batch < 1:
        raise SlimcompatError(f"--size takes H or H W of at least 32 and --batch at least 1; "
                              f"found {args.size}, {args.batch}")


def _batch(args, recorded=()):
    """The batch: --input, else random at --size, else at the size the weights record (`recorded`), else 224."""
    from slimcompat.parity import inputs
    args.size = args.size or list(recorded[:2]) or [224]
    _check_batch(args)
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


def _check_device(device):
    import tensorflow as tf
    kind, _, index = device.upper().partition(":")
    visible = tf.config.list_logical_devices(kind) if kind in ("CPU", "GPU") else []
    if not visible or (index and (not index.isdigit() or int(index) >= len(visible))):
        raise SlimcompatError(f"device {device!r} is not visible to TensorFlow "
                              f"(visible: {', '.join(d.name for d in tf.config.list_logical_devices())})")


def _check_options(args):
    """One line for each combination that means nothing."""
    if args.reference:
        if args.a != "torch" or args.b:
            raise SlimcompatError("--reference checks one side, torch: slimcompat parity torch --reference FILE")
        extra = [flag for flag, given in (("--save-reference", args.save_reference), ("--weights-b", args.weights_b),
                                         ("--input", args.input)) if given]
        if extra:
            raise SlimcompatError(f"--reference takes its batch from the file; drop {', '.join(extra)}")
        return
    if args.dtype != "float32":
        raise SlimcompatError("--dtype applies to the PyTorch side of a --reference run")
    if args.save_reference:
        if args.a == "torch" or args.device.upper() != "CPU" or args.tf32:
            raise SlimcompatError("--save-reference writes TensorFlow's CPU float32 endpoints of A: A must be a "
                                  "TensorFlow implementation, --device CPU, no --tf32")
    elif not args.b:
        raise SlimcompatError("B is missing: slimcompat parity A B (or A --save-reference FILE)")


def _reference_report(args):
    """The torch side against a saved reference: nothing here imports TensorFlow."""
    from slimcompat.parity import reference, torch_side
    from slimcompat.weights import convert
    saved = reference.Reference(args.reference)
    weights = convert.load(args.weights, arch=arch_options.description(args)) if args.weights else None
    return torch_side.check_reference(saved, weights, args.device, args.dtype, args.tf32,
                                      run_diagnosis=not args.no_diagnosis)


def run(args):
    arch_options.description(args)       # names first: a misspelling is refused before TensorFlow loads
    for spec in (args.model_a, args.model_b):
        if spec:
            model_options.check_code(spec)
    from slimcompat.parity import check, environment, reference
    from slimcompat.weights import convert
    if parity_models.active(args):
        args.a, args.b = parity_models.sides(args, IMPLEMENTATIONS)
        args.size = parity_models.size(args, args.a, args.b)
    unknown = [side for side in (args.a, args.b) if isinstance(side, str) and side not in IMPLEMENTATIONS]
    if args.a is None or unknown:
        raise SlimcompatError(f"parity A B: implementations are {', '.join(IMPLEMENTATIONS)} (or a user's model: "
                              f"--model-a/--model-b); found {args.a}, {args.b}")
    _check_options(args)
    if args.reference:
        return _render(args, _reference_report(args))
    _check_batch(args)
    _check_device(args.device)
    weights = parity_models.weights(args, args.a, args.b) if parity_models.active(args) else _weights(args)
    batch = _batch(args, weights.meta.input_shape or weights.meta.description.input_size)
    weights_b = convert.load(args.weights_b) if args.weights_b else None
    seed = None if args.weights else args.seed
    environment.configure(args.tf32)
    if not args.b:
        a = create(args.a, weights, batch.values.shape[1:], args.device).load()
        path = reference.save(args.save_reference, a, batch, a.endpoints(batch.for_side(a)),
                              environment.record(args.device), seed)
        print(f"{path}: {len(a.arch.endpoint_names())} endpoints of {args.a} ({a.arch.name}) for "
              f"{batch.describe()}")
        return 0
    a, b, names = check.build(args.a, args.b, weights, batch.values.shape[1:], weights_b, args.device)
    points = {}
    report = check.compare(a, b, names, batch, args.device, args.tf32, not args.no_diagnosis, points=points)
    report["a"]["weights_file"] = args.weights
    report["b"]["weights_file"] = args.weights_b or args.weights
    if args.save_reference and "a" in points:
        reference.save(args.save_reference, a, batch, points["a"], report["environment"], seed)
    elif args.save_reference:
        warnings.warn(f"{args.save_reference} not written: the weights did not load")
    return _render(args, report)


def _render(args, report):
    from slimcompat.parity import render_html, render_json, render_text
    report_output.emit(args, lambda: render_text.render(report), lambda: render_json.render(report),
                       lambda: render_html.render(report))
    return 0 if report["ok"] else 1
