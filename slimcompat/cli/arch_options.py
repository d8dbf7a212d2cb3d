"""The architecture options `convert`, `parity` and `bench` share: --arch, --source, --variant."""

from slimcompat.arch import describe, parse_knobs
from slimcompat.arch.registry import EXAMPLES

__all__ = ["add_arguments", "description"]


def add_arguments(parser, default=None, help_suffix=""):
    parser.add_argument("--arch", default=default,
                        help=f"architecture: {EXAMPLES}; SOURCE:NAME picks a source's conventions{help_suffix}")
    parser.add_argument("--source", help="conventions of: slim, keras, keras1, torchvision (default: the name's)")
    parser.add_argument("--variant", metavar="KNOB=VALUE,...",
                        help="knobs changed from the source's conventions, e.g. activation=elu,bn_epsilon=1e-3")


def description(args):
    """The description the options name, or None when --arch is not given."""
    if not args.arch:
        if args.variant or args.source:
            from slimcompat.errors import SlimcompatError
            raise SlimcompatError("--variant and --source need --arch")
        return None
    base = describe(args.arch, source=args.source)
    return base.replace(**parse_knobs(args.variant, base.family)) if args.variant else base
