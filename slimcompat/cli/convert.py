"""`slimcompat convert SRC DST`: any supported weight file to any other.

The source is read completely and its name mapping checked before anything is
written; the destination appears whole or not at all; the source is only read.
`--recover PREFIX` finishes a slim checkpoint install that a killed process
left (reads refuse such a checkpoint rather than finish it themselves).
Changes that alter what the weights mean (dropping the background class,
flipping colour order, re-expressing BatchNorm epsilon) happen only on request.
"""

import pathlib

from slimcompat.cli import arch_options, convert_model, model_options, transform_options
from slimcompat.cli.progress import progress_bar
from slimcompat.errors import SlimcompatError
from slimcompat.weights import convert, formats

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("src", nargs="?", help="source: canonical .h5, slim checkpoint, Keras weight file or "
                                               "safetensors state_dict")
    parser.add_argument("dst", nargs="?", help="destination; its kind from --to or the extension "
                                               "(.ckpt: slim, .keras/.weights.h5: keras, .safetensors: torch, "
                                               "else canonical)")
    parser.add_argument("--recover", metavar="PREFIX",
                        help="finish the interrupted install of the slim checkpoint at PREFIX (its hidden "
                             ".PREFIX.install journal, checked first), then exit; no SRC or DST")
    parser.add_argument("--from", dest="src_kind", choices=formats.kinds(), help="source kind (default: detected)")
    parser.add_argument("--to", dest="dst_kind", choices=(*formats.kinds(), "model"),
                        help="destination kind (model: the --model's own weights file)")
    arch_options.add_arguments(parser, help_suffix=" (default: detected from the names and the file's metadata)")
    parser.add_argument("--ema", action="store_true",
                        help="slim: take ExponentialMovingAverage shadow values instead of the raw variables")
    transform_options.add_arguments(parser)
    names = parser.add_mutually_exclusive_group()
    names.add_argument("--faithful", action="store_true",
                       help="torch: the state_dict of slimcompat's faithful PyTorch module (every family and "
                            "variant), where torchvision's model would compute something else and is refused")
    names.add_argument("--timm", action="store_true",
                       help="torch: timm's names, for timm's own model (inception_v4, inception_resnet_v2, resnet50, "
                            "vgg16, ...), written only where it computes what the weights do")
    parser.add_argument("--slim-format", choices=("V1", "V2"), default="V2", help="slim checkpoint format")
    parser.add_argument("--force", action="store_true", help="overwrite an existing destination")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    convert_model.add_arguments(parser)


def _check_destination(src, dst, dst_kind, force):
    kind = formats.get(dst_kind)
    if dst.is_dir():
        raise SlimcompatError(f"{dst}: is a folder; name the file to write inside it, "
                              f"e.g. {dst / (src.name.split('.')[0] + kind.folder_example)}")
    kind.check_destination(dst, force)


def _recover(args):
    if args.src or args.dst:
        raise SlimcompatError("--recover PREFIX takes no SRC or DST")
    from slimcompat.weights import slim_checkpoint
    finished = slim_checkpoint.recover(pathlib.Path(args.recover))
    if not args.quiet:
        print(f"{args.recover}: " + ("interrupted install finished" if finished else "no interrupted install"))
    return 0


def run(args):
    if args.recover:
        return _recover(args)
    if not (args.src and args.dst):
        raise SlimcompatError("convert needs SRC and DST (or --recover PREFIX)")
    convert_model.check(args)
    arch = arch_options.description(args)     # names first: a misspelling is refused before TensorFlow loads
    if args.model:
        model_options.check_code(args.model)
        return convert_model.run(args)
    src, dst = pathlib.Path(args.src), pathlib.Path(args.dst)
    dst_kind = convert.kind_for_destination(dst, args.dst_kind)
    src_kind = args.src_kind or convert.detect(src)
    convert.check_not_source(src, dst, src_kind, dst_kind)
    _check_destination(src, dst, dst_kind, args.force)
    with progress_bar(f"read {src.name}", quiet=args.quiet) as step:
        weights = convert.load(src, src_kind, arch=arch, use_ema=args.ema,
                               progress=step)
    weights = transform_options.apply(weights, dst_kind, args)
    total = sum(t.nbytes for t in weights.tensors.values())
    with progress_bar(f"write {dst.name}", total=total, quiet=args.quiet) as step:
        convert.save(dst, weights, dst_kind, overwrite=args.force, progress=step, slim_version=args.slim_format,
                     torch_target="faithful" if args.faithful else "timm" if args.timm else "torchvision")
    if not args.quiet:
        print(f"{src} -> {dst} ({dst_kind}): {weights.meta.architecture}, {len(weights.tensors)} tensors, "
              f"{weights.parameter_count:,} parameters")
    return 0
