"""`slimcompat migrate`: rewrite TF1 slim sources once, to run on TF 2.x with plain python.

`slimcompat run` runs TF1 code unmodified; `migrate` is for code that should
stop needing slimcompat's launcher. It runs TensorFlow's own tf_upgrade_v2
engine with its change spec extended (slimcompat.migrate.spec) by what that
tool lacks: tensorflow.contrib imports and uses rewritten to tf_slim from the
import table in slimcompat.legacy.contrib, slim's regularizers kept out of
Keras 3, `import slimcompat` before tf_slim, and graph mode switched on after
the imports. Every change, warning and error is reported per line; running
it again on its output changes nothing.

The CLI calls `add_arguments(parser)` and `run(args)`; programs can call
`migrate_paths(paths, output_dir)` or `migrate_source(text)`.
"""

import argparse
import os
import sys

from slimcompat.migrate.report import Entry, FileResult, Report

__all__ = ["add_arguments", "run", "migrate_paths", "migrate_source",
           "Report", "FileResult", "Entry"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `PATH... [--output DIR]` to the `migrate` subcommand's parser."""
    parser.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="Python files or folders to migrate (in folders, every *.py file); SRC.py DST.py, where "
             "DST.py does not exist yet, migrates SRC.py into DST.py and leaves SRC.py alone (two .py files "
             "that both exist are refused: which one is the source cannot be known)")
    parser.add_argument(
        "-o", "--output", metavar="DIR", default=None,
        help="write migrated copies under DIR, mirroring the folders and copying other "
             "files, and leave the originals alone (default: migrate in place, keeping "
             "each original as FILE.tf1.bak)")


def run(args: argparse.Namespace) -> int:
    """Migrate, print the report; 0 if no file had errors, 1 if any did, 2 on bad usage."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ambiguous = _two_existing_files(args.paths, args.output)
    if ambiguous:
        print(f"slimcompat migrate: {ambiguous}", file=sys.stderr)
        return 2
    try:
        if _source_and_destination(args.paths, args.output):
            from slimcompat.migrate.engine import migrate_file
            report = migrate_file(*args.paths)
        else:
            report = migrate_paths(args.paths, args.output)
    except ValueError as error:
        print(f"slimcompat migrate: {error}", file=sys.stderr)
        return 2
    print(report.format())
    return report.exit_code


def _source_and_destination(paths, output_dir):
    """Whether `PATH PATH` is tf_upgrade_v2's habit `SRC.py DST.py`: a file, then a .py file not there yet."""
    return (output_dir is None and len(paths) == 2 and os.path.isfile(paths[0])
            and paths[1].endswith(".py") and not os.path.exists(paths[1]))


def _two_existing_files(paths, output_dir):
    """Why `SRC.py DST.py` with DST.py already there is refused (None if it is not that case).

    It reads as tf_upgrade_v2's SRC DST habit (run again after editing SRC) and as two files to migrate in
    place; guessing wrong rewrites a file the user meant to keep.
    """
    if output_dir is not None or len(paths) != 2 or not all(p.endswith(".py") and os.path.isfile(p) for p in paths):
        return None
    source, destination = paths
    return (f"{destination} exists: to migrate {source} into it, remove it first; to migrate both in place, "
            f"run `slimcompat migrate {source}` and `slimcompat migrate {destination}`; or add --output DIR")


def migrate_paths(paths, output_dir=None) -> Report:
    """Migrate files and folders, in place or into `output_dir`; see engine."""
    from slimcompat.migrate.engine import migrate_paths as _migrate_paths
    return _migrate_paths(list(paths), output_dir)


def migrate_source(text, filename="<string>"):
    """(migrated text, [(level, line, col, message)]) for one Python source.

    Raises slimcompat.migrate.source.ParseError if it cannot be parsed.
    """
    from slimcompat.migrate.source import migrate_source as _migrate_source
    return _migrate_source(text, filename)
