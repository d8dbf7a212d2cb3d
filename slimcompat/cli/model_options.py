"""The options `convert`, `diff` and `parity` share for a user's model given as code.

`PATH.py:NAME` or `PATH.py:NAME(ARGS)` (slimcompat.structure.model_code):
only what building the model needs runs, never its training; `--keras`
overrides the Keras the source implies, `--input-shape` the size the model is
traced at.
"""

from slimcompat.errors import SlimcompatError

__all__ = ["add_arguments", "load", "input_shape", "CODE_HELP"]

CODE_HELP = ("a model from its code: PATH.py:NAME (a model, or a function or class called without arguments) or "
             "PATH.py:NAME(ARGS); only the statements building the model needs run")


def add_arguments(parser):
    parser.add_argument("--keras", choices=("2", "3"),
                        help="Keras for model code: 2 (tf-keras) or 3 (default: what the code was written for)")
    parser.add_argument("--input-shape", metavar="H,W,C",
                        help="input size to trace a model at (default: the model's own, else 224,224,3)")


def input_shape(args):
    text = getattr(args, "input_shape", None)
    if not text:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise SlimcompatError(f"--input-shape {text!r}: expected H,W,C such as 224,224,3")
    return shape


def load(args, spec):
    """The model `spec` names, built by its own code (an interrupt of it carries status 130 to main)."""
    from slimcompat.structure.model_code import load_model
    return load_model(spec, keras=getattr(args, "keras", None))
