"""`slimcompat diff A B`: every structural difference between two networks, its cost, its effect on outputs.

A and B are each a model given as code (`PATH.py:NAME[(ARGS)]`, recognised by
structure), a weight file (its recorded or detected description), or an
architecture name (`resnet50`, `resnext50_32x4d`, `SOURCE:NAME`). Exit 0 when
they compute the same network, 1 when they differ, 2 on bad usage (a misspelt
name or model code is refused before TensorFlow loads), 3 when a model is
refused (no description fits it). Costs are counted at --input-shape, else a
model's own input size or a weight file's recorded one, else 224x224.
"""

import pathlib

from slimcompat.cli import model_options, report_output
from slimcompat.errors import SlimcompatError

__all__ = ["add_arguments", "run", "resolve"]


def add_arguments(parser):
    what = "model code (PATH.py:NAME[(ARGS)]), a weight file, or an architecture name (resnet50, resnext50_32x4d, ...)"
    parser.add_argument("a", metavar="A", help=what)
    parser.add_argument("b", metavar="B", help="the reference, as A")
    model_options.add_arguments(parser)
    report_output.add_arguments(parser)


def _is_code(text):
    path, sep, name = text.rpartition(":")
    return bool(sep and name and path.endswith(".py"))


def _is_file(text):
    path = pathlib.Path(text)
    return path.exists() or pathlib.Path(f"{text}.index").is_file()


def resolve(text, args):
    """(description, label, input H x W or None) of one operand."""
    if _is_code(text):
        from slimcompat.structure import recognize
        recognition = recognize(model_options.load(args, text), model_options.input_shape(args))
        d = recognition.description
        return d, f"{text} (recognised: {d.name}, {len(recognition.traced.variables)} model variables)", \
            recognition.input_shape[:2]
    if _is_file(text):
        from slimcompat.weights import canonical, convert
        kind = convert.detect(text)
        meta = canonical.read_header(text)[0] if kind == "canonical" else convert.load(text, kind).meta
        return meta.description, f"{text} ({kind} file: {meta.description.name})", meta.input_shape[:2] or None
    from slimcompat.arch.registry import default_source
    d = _named(text)
    source = text.partition(":")[0] if ":" in text else default_source(text)
    return d, f"{text} ({source} conventions: {d.name})", None


def _named(text):
    from slimcompat.arch import describe
    try:
        return describe(text)
    except SlimcompatError as exc:
        raise SlimcompatError(f"{text!r} is no model code (PATH.py:NAME), no existing file, and {exc}") from None


def _check(text):
    """Refuse a misspelt name or model code before anything imports TensorFlow."""
    if _is_code(text):
        model_options.check_code(text)
    elif not _is_file(text):
        _named(text)


def run(args):
    _check(args.a)
    _check(args.b)
    from slimcompat.structure import diff, render
    a, a_label, a_hw = resolve(args.a, args)
    b, b_label, b_hw = resolve(args.b, args)
    shape = model_options.input_shape(args)
    hw = shape[:2] if shape else (a_hw or b_hw or a.input_size)
    result = diff.diff(a, b, a_label, b_label, input_hw=hw)
    report_output.emit(args, lambda: render.text(result), lambda: render.to_json(result),
                       lambda: render.to_html(result))
    return 0 if result.same else 1
