"""`slimcompat validate FILE`: check a canonical file against weights/SPEC.md.

Only canonical files have a spec to check against; given a slim checkpoint or
a Keras file, it says what the file is and the conversion that would work:
with the model's code (`--model`) where the file's names are its own.
"""

from slimcompat.errors import WeightsError, WeightsRefusal
from slimcompat.weights import canonical, convert, formats

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("file", help="a canonical weight file")


def _refuse_other_kinds(path):
    """One line naming what a non-canonical weight file is and the command that helps instead."""
    try:
        kind = formats.get(convert.detect(path))
    except WeightsError:
        return  # canonical.read says precisely what is wrong with it
    if kind.name == "canonical":
        return
    try:
        kind.check_names(path)
    except WeightsRefusal:
        raise WeightsError(path, f"{kind.describe(path)} whose layer names follow no known naming, "
                                 f"not a canonical file; validate checks canonical files: if this is your own "
                                 f"model's file, convert it first, with its code "
                                 f"({formats.convert_command(path)})") from None
    except WeightsError:
        pass    # convert says precisely what is wrong with it
    command = kind.convert_hint(path)
    raise WeightsError(path, f"{kind.describe(path)}, not a canonical file; validate checks canonical "
                             f"files: convert it first ({command}), or see what it holds with slimcompat inspect "
                             f"{path}")


def run(args):
    _refuse_other_kinds(args.file)
    weights = canonical.read(args.file)
    print(f"{args.file}: valid {canonical.FORMAT} v{canonical.VERSION}, {weights.meta.architecture}, "
          f"{len(weights.tensors)} tensors, {weights.parameter_count:,} parameters")
    return 0
