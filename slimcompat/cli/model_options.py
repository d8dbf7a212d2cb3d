"""The options `convert`, `diff` and `parity` share for a user's model given as code.

`PATH.py:NAME` or `PATH.py:NAME(ARGS)` (slimcompat.structure.model_code):
only what building the model needs runs, never its training; `--keras`
overrides the Keras the source implies, `--input-shape` the size the model is
traced at. `check_code` refuses a missing file or a name the file does not
define before anything is imported or run (the names from its `ast`).
"""

import ast
import builtins

from slimcompat.errors import SlimcompatError

__all__ = ["add_arguments", "load", "check_code", "input_shape", "CODE_HELP"]

# top-level code that may bind names `ast` cannot see
_DYNAMIC = frozenset({"globals", "vars", "exec", "eval", "setattr", "__import__"})

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


def check_code(spec):
    """Refuse `spec` if its file is missing or not Python, or reads a name the file's top level does not bind
    (suggesting the closest definition); nothing is run. Files binding names dynamically pass."""
    from slimcompat.arch.registry import closest
    from slimcompat.structure import code_slice
    from slimcompat.structure.model_code import parse_spec
    spec = parse_spec(spec)
    if not spec.path.is_file():
        raise SlimcompatError(f"--model {spec}: {spec.path}: no such Python file")
    source = spec.path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, str(spec.path))
    except SyntaxError as exc:
        raise SlimcompatError(f"{spec.path}:{exc.lineno}: not valid Python ({exc.msg})") from None
    top = [node for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) or
           isinstance(n, ast.Name) and n.id in _DYNAMIC for node in top for n in ast.walk(node)):
        return spec
    bound = code_slice.bound_names(tree.body, code_slice.scopes(source, spec.path))
    missing = sorted(name for name in spec.names if name not in bound and not hasattr(builtins, name))
    if missing:
        defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        hint = closest(missing[0], bound) or (f"it defines {', '.join(defined[:8])}" if defined else
                                              "it defines no function or class")
        raise SlimcompatError(f"--model {spec}: {spec.path.name} defines no {missing[0]!r} at its top level; {hint}")
    return spec


def load(args, spec):
    """The model `spec` names, built by its own code (an interrupt of it carries status 130 to main)."""
    from slimcompat.structure.model_code import load_model
    return load_model(spec, keras=getattr(args, "keras", None))
