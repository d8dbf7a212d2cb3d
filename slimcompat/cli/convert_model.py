"""`slimcompat convert SRC DST --model CODE`: weights out of, or into, a user's own model.

Out (the default): SRC is a file the model's own code wrote or reads (`.h5`,
`.weights.h5`, a TF-format `.ckpt`), loaded into the model by its own Keras
(TF-format checkpoints through their object graph); the model is recognised
by structure and its weights written to DST as any kind `convert` writes.

Into (`--to model`): SRC is any file `convert` reads; its network must be the
model's (refused, naming every difference, unless `--allow-differences`), and
DST is written by the model's own Keras for its code to load (`.weights.h5`;
`.h5` under tf-keras).
"""

import pathlib

from slimcompat.cli import arch_options, model_options, transform_options
from slimcompat.cli.progress import progress_bar
from slimcompat.errors import SlimcompatError
from slimcompat.weights import convert, formats
from slimcompat.weights.atomic import check_destination

__all__ = ["run", "add_arguments"]


def add_arguments(parser):
    parser.add_argument("--model", metavar="PATH.py:NAME[(ARGS)]", help=model_options.CODE_HELP + "; the model "
                        "whose own file SRC is (default), or, with --to model, the model DST is written for")
    model_options.add_arguments(parser)
    parser.add_argument("--allow-differences", action="store_true",
                        help="with --to model: load weights of a network that computes otherwise than the "
                             "model's (the shapes must still fit); the report lists every difference")
    parser.add_argument("--input-convention", choices=("unit", "inception", "vgg", "caffe", "torch"),
                        help="the input the model's weights expect, recorded in a canonical file (default unit: "
                             "x / 255)")


def run(args):
    from slimcompat.structure import model_weights
    src, dst = pathlib.Path(args.src), pathlib.Path(args.dst)
    model = model_options.load(args, args.model)
    shape = model_options.input_shape(args)
    if args.dst_kind == "model":
        check_destination(dst, args.force)
        weights = convert.load(src, args.src_kind, arch=arch_options.description(args), use_ema=args.ema)
        report = model_weights.write(model, weights, input_shape=shape, allow_differences=args.allow_differences)
        model_weights.save_file(model, dst, overwrite=args.force)
        if not args.quiet:
            for line in report.lines():
                print(line)
            print(f"{src} -> {dst} (the model's own weights file)")
        return 0
    dst_kind = convert.kind_for_destination(dst, args.dst_kind)
    formats.get(dst_kind).check_destination(dst, args.force)
    recognition = model_weights.load_file(model, src, input_shape=shape)
    weights = model_weights.read(model, recognition, input_convention=args.input_convention,
                                 source_file=src.name)
    weights = transform_options.apply(weights, dst_kind, args)
    total = sum(t.nbytes for t in weights.tensors.values())
    with progress_bar(f"write {dst.name}", total=total, quiet=args.quiet) as step:
        convert.save(dst, weights, dst_kind, overwrite=args.force, progress=step, slim_version=args.slim_format)
    if not args.quiet:
        print(recognition.summary())
        grouped = recognition.grouped()
        extra = f" ({len(grouped)} grouped kernels merged from per-group variables)" if grouped else ""
        print(f"{src} -> {dst} ({dst_kind}): {weights.meta.architecture}, {len(weights.tensors)} tensors, "
              f"{weights.parameter_count:,} parameters{extra}")
    return 0


def check(args):
    """Options that only make sense with --model."""
    if not args.model:
        for flag, value in (("--to model", args.dst_kind == "model"), ("--allow-differences", args.allow_differences),
                            ("--keras", args.keras), ("--input-shape", args.input_shape),
                            ("--input-convention", args.input_convention)):
            if value:
                raise SlimcompatError(f"{flag} needs --model")
