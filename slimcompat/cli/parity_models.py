"""`slimcompat parity --model-a CODE [B]`, `--model-b CODE`: a user's own model on either side of a parity run.

A side given as code is built by its own code (slimcompat.structure.model_code),
recognised by structure and compared through its canonical endpoints
(slimcompat.parity.user_model). Without `--weights` both sides take the user
model's own weights (A's when both are models), so `parity --model-a CODE
keras-faithful` checks that slimcompat's model of the recognised description
computes what the user's model does.
"""

from slimcompat.cli import model_options
from slimcompat.errors import SlimcompatError

__all__ = ["add_arguments", "sides", "weights", "active"]


def add_arguments(parser):
    parser.add_argument("--model-a", metavar="PATH.py:NAME[(ARGS)]",
                        help=f"A is a user's model: {model_options.CODE_HELP}")
    parser.add_argument("--model-b", metavar="PATH.py:NAME[(ARGS)]", help="B is a user's model, as --model-a")
    model_options.add_arguments(parser)


def active(args):
    return bool(args.model_a or args.model_b)


def sides(args, implementations):
    """(A, B): implementation keys, or UserModel objects for sides given as code."""
    from slimcompat.parity.user_model import UserModel
    given = [k for k in (args.a, args.b) if k]
    needed = 2 - bool(args.model_a) - bool(args.model_b)
    if len(given) != needed:
        raise SlimcompatError(f"parity needs two sides: {needed} implementation name{'s' if needed != 1 else ''} "
                              f"besides --model-a/--model-b, found {len(given)} ({', '.join(given) or 'none'})")
    for key in given:
        if key not in implementations:
            raise SlimcompatError(f"unknown implementation {key!r}; known: {', '.join(implementations)}")
    out = []
    for spec in (args.model_a, args.model_b):
        if spec:
            model = model_options.load(args, spec)
            out.append(UserModel(model, title=f"{spec} (recognised)", input_shape=model_options.input_shape(args),
                                 device=args.device))
        else:
            out.append(given.pop(0))
    return tuple(out)


def weights(args, a, b):
    """--weights for both sides, else the user model's own weights (A's model first)."""
    from slimcompat.cli import arch_options
    from slimcompat.weights import convert
    if args.weights:
        return convert.load(args.weights, arch=arch_options.description(args))
    model = a if not isinstance(a, str) else b
    return model.own_weights()


def size(args, a, b):
    """The batch size (H W): --size, else the user model's own input size."""
    if args.size:
        return args.size
    model = a if not isinstance(a, str) else b
    return list(model.input_shape[:2])
