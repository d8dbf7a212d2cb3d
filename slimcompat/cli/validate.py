"""`slimcompat validate FILE`: check a canonical file against weights/SPEC.md."""

from slimcompat.weights import canonical

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("file", help="a canonical weight file")


def run(args):
    weights = canonical.read(args.file)
    print(f"{args.file}: valid {canonical.FORMAT} v{canonical.VERSION}, {weights.meta.architecture}, "
          f"{len(weights.tensors)} tensors, {weights.parameter_count:,} parameters")
    return 0
