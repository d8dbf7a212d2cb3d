"""The `slimcompat` command: one subcommand per concern, each in its module.

Every subcommand module offers `add_arguments(parser)` and `run(args) -> int`;
this file only wires them up, sets the quiet defaults (`quiet`; `--verbose`
lifts them), and turns our errors, and the machine's (no space, a name the
libraries cannot take), into one line and exit 2.
"""

import argparse
import importlib
import sys

from slimcompat.errors import SlimcompatError

__all__ = ["main"]

# name: (module, one-line help)
SUBCOMMANDS = {
    "convert": ("slimcompat.cli.convert", "convert weights: slim checkpoint, Keras h5, canonical file"),
    "inspect": ("slimcompat.cli.inspect_file", "kind, architecture, tensor and parameter counts, metadata of a weight file"),
    "validate": ("slimcompat.cli.validate", "check a canonical weight file against weights/SPEC.md"),
    "demo": ("slimcompat.cli.demo", "run the embedded TF1 example via `run` and via `migrate`, compare logits"),
    "bench": ("slimcompat.cli.bench", "forward images/s of a slim ResNet: TF1 graph, eager layer, native Keras"),
    "doctor": ("slimcompat.cli.doctor", "versions, applied repairs, GPU and TF32 state"),
    "parity": ("slimcompat.cli.parity", "per-endpoint parity of two implementations, first divergence and its cause"),
    "migrate": ("slimcompat.migrate", "rewrite TF1 sources once so they run on TF 2.x with plain python"),
}

_RUN_USAGE = "usage: slimcompat run SCRIPT [ARGS...] | slimcompat run -m MODULE [ARGS...]"


_VERBOSE = "--verbose"


def _parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(_VERBOSE, action="store_true", default=argparse.SUPPRESS,
                        help="show TensorFlow's start-up and C++ log lines and framework warnings")
    parser = argparse.ArgumentParser(
        prog="slimcompat", parents=[common],
        description="Run TF1 slim-style code and its weights on TensorFlow 2.")
    parser.add_argument("--version", action="version",
                        version=f"slimcompat {importlib.import_module('slimcompat').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("run", help="run a TF1-era script (or -m module) unmodified",
                   usage=_RUN_USAGE, add_help=False)
    for name, (module, summary) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary, parents=[common])
        importlib.import_module(module).add_arguments(p)
    return parser


def _run_command(argv):
    """`run` takes the rest of the line verbatim, as `python` does."""
    from slimcompat.legacy import UnsupportedModuleError, launcher
    if not argv or argv[0] in ("-h", "--help"):
        print(_RUN_USAGE)
        print("Runs the script with `import tensorflow as tf` giving the v1 API in graph mode and "
              "tensorflow.contrib.{slim,layers,framework,...} served by tf_slim.")
        return 0 if argv else 2
    if argv[0] == "-m" and len(argv) < 2:
        print(_RUN_USAGE, file=sys.stderr)
        return 2
    try:
        if argv[0] == "-m":
            launcher.run_module(argv[1], argv[2:])
        else:
            launcher.run_script(argv[0], argv[1:])
    except UnsupportedModuleError as exc:
        print(f"slimcompat: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _one_line(exc):
    """The one-line message of an error the user can act on: ours, or the machine's."""
    from slimcompat.weights.atomic import write_failure
    if isinstance(exc, UnicodeError):
        return f"a file name or text that is not valid UTF-8 ({getattr(exc, 'reason', exc)}); use UTF-8 names"
    if isinstance(exc, OSError) and not isinstance(exc, SlimcompatError):
        reason = write_failure(exc) or exc.strerror or (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"{exc.filename}: {reason}" if exc.filename else reason
    return str(exc)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    launching = bool(argv) and argv[0] == "run"
    if not launching:
        from slimcompat.cli import quiet
        quiet.apply(verbose=_VERBOSE in argv)
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")  # file names that are not UTF-8 still print
    try:
        if launching:
            return _run_command(argv[1:])
        args = _parser().parse_args(argv)
        module = importlib.import_module(SUBCOMMANDS[args.command][0])
        return module.run(args)
    except (SlimcompatError, OSError, UnicodeError) as exc:
        print(f"slimcompat: error: {_one_line(exc)}", file=sys.stderr)
        return 2
