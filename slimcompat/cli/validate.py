"""`slimcompat validate FILE`: check a canonical file against weights/SPEC.md.

Only canonical files have a spec to check against; given a slim checkpoint or
a Keras file, it says what the file is and what to run instead.
"""

import pathlib

from slimcompat.errors import WeightsError
from slimcompat.weights import canonical, convert

__all__ = ["add_arguments", "run"]


def add_arguments(parser):
    parser.add_argument("file", help="a canonical weight file")


def _refuse_other_kinds(path):
    """One line naming what a non-canonical weight file is and the command that helps instead."""
    if canonical.is_canonical(path):
        return
    try:
        kind = convert.detect(path)
    except WeightsError:
        return  # canonical.read says precisely what is wrong with it
    if kind == "canonical":
        return
    target = pathlib.Path(path).name.split(".")[0] + ".h5"
    raise WeightsError(path, f"{convert.describe_kind(path, kind)}, not a canonical file; validate checks canonical "
                             f"files: convert it first (slimcompat convert {path} {target}), or see what it "
                             f"holds with slimcompat inspect {path}")


def run(args):
    _refuse_other_kinds(args.file)
    weights = canonical.read(args.file)
    print(f"{args.file}: valid {canonical.FORMAT} v{canonical.VERSION}, {weights.meta.architecture}, "
          f"{len(weights.tensors)} tensors, {weights.parameter_count:,} parameters")
    return 0
