"""The `slimcompat` command: one subcommand per concern, each in its module.

Every subcommand module offers `add_arguments(parser)` and `run(args) -> int`;
this file only wires them up, sets the quiet defaults (`quiet`, lighter for
`run`; `--verbose` lifts them), and turns our errors, and the machine's (no
space, a name the libraries cannot take), into one line and exit 2, or the error's own status (3:
refused, slimcompat.errors.Refusal); Ctrl-C, anywhere, into one line and exit
130 (128 + SIGINT, as shells report it). Writers leave nothing
half-written on any exception, so an interrupted command has changed nothing.
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
    "diff": ("slimcompat.cli.diff", "every structural difference of two networks (code, weight files, names), its cost"),
    "migrate": ("slimcompat.migrate", "rewrite TF1 sources once so they run on TF 2.x with plain python"),
}

_RUN_USAGE = ("usage: slimcompat run [--tf {1,2}] [--keras {2,3}] [--weights-dir DIR] [--trust-file NAME=SHA256]\n"
              "                      [--v1-code PATH|PACKAGE] [--v2-code PATH|PACKAGE] [--verbose]\n"
              "                      SCRIPT [ARGS...] | -m MODULE [ARGS...]")
_RUN_HELP = """Runs a TF1-era or Keras-era program unmodified, as `python SCRIPT ARGS` would.

From the program's source, slimcompat decides (and says on one stderr line):
  TF1 code (tf.Session, placeholder, contrib, tf.layers, slim, ...): `import tensorflow`
    gives the program's own code the v1 API in graph mode, tensorflow.contrib.{slim,layers,
    framework,...} is served by tf_slim; installed packages keep TF 2. Otherwise TF 2, eager.
  Keras-era code: Keras 2 (tf-keras) as tf.keras and as keras, with keras.engine,
    keras.utils.data_utils, keras_applications, ... served; Keras 3 code: Keras 3.
  get_file (and keras.datasets) never downloads: files come from the Keras cache or --weights-dir.

options (before SCRIPT; also as environment variables):
  --tf {1,2}                   TF1 API + graph mode, or TF 2 (SLIMCOMPAT_TF)
  --keras {2,3}                Keras 2 via tf-keras, or Keras 3 (SLIMCOMPAT_KERAS)
  --weights-dir DIR            also look for get_file's files here (SLIMCOMPAT_WEIGHTS_DIR, ':'-separated)
  --trust-file NAME=SHA256     use file NAME although its hash is not the one the program expects,
                               if its bytes have this sha256 (SLIMCOMPAT_TRUST_FILE, ','-separated)
  --v1-code PATH|PACKAGE       code that gets the v1 API although installed (SLIMCOMPAT_V1_CODE)
  --v2-code PATH|PACKAGE       code that keeps TF 2 although it is the program's own (SLIMCOMPAT_V2_CODE)
  --verbose                    say what was found in the source, and every file get_file answers; show
                               TensorFlow's start-up lines and the frameworks' notices about their own code"""
_RUN_VALUED = {"--tf": "tf", "--keras": "keras", "--weights-dir": "weights_dirs", "--trust-file": "trusted",
               "--v1-code": "v1_code", "--v2-code": "v2_code"}


_VERBOSE = "--verbose"
_INTERRUPTED = 130


def _parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(_VERBOSE, action="store_true", default=argparse.SUPPRESS,
                        help="show TensorFlow's start-up and C++ log lines and framework warnings")
    common.add_argument("--progress", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                        help="progress bars even when stderr is not a terminal, or (--no-progress) never; "
                             "default: on a terminal only")
    parser = argparse.ArgumentParser(
        prog="slimcompat", parents=[common],
        description="Run TF1 slim-style code and its weights on TensorFlow 2.")
    parser.add_argument("--version", action="version",
                        version=f"slimcompat {importlib.import_module('slimcompat').__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("run", help="run a TF1-era or Keras-era script (or -m module) unmodified",
                   usage=_RUN_USAGE, add_help=False)
    for name, (module, summary) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=summary, description=summary, parents=[common])
        importlib.import_module(module).add_arguments(p)
    return parser


def _run_options(argv):
    """(RunOptions, the rest of the line) from `run`'s leading options; ValueError on a bad one."""
    from slimcompat.keras2.offline import parse_trust
    from slimcompat.legacy.launcher import RunOptions
    given = {"weights_dirs": [], "trusted": [], "v1_code": [], "v2_code": []}
    verbose = False
    while argv and argv[0].startswith("--"):
        flag, eq, value = argv[0].partition("=")
        if flag == "--":
            argv = argv[1:]
            break
        if flag == "--verbose" and not eq:
            verbose, argv = True, argv[1:]
            continue
        if flag not in _RUN_VALUED:
            raise ValueError(f"unknown option {flag}")
        if not eq:
            if len(argv) < 2:
                raise ValueError(f"{flag} needs a value")
            value, argv = argv[1], argv[2:]
        else:
            argv = argv[1:]
        key = _RUN_VALUED[flag]
        if isinstance(given.get(key), list):
            given[key].append(value)
        else:
            given[key] = value
    options = RunOptions(tf=given.get("tf"), keras=given.get("keras"), weights_dirs=tuple(given["weights_dirs"]),
                         trusted=parse_trust(given["trusted"]), v1_code=tuple(given["v1_code"]),
                         v2_code=tuple(given["v2_code"]), verbose=verbose)
    return options, argv


def _run_command(argv):
    """`run` takes its options, then the rest of the line verbatim, as `python` does."""
    if not argv or argv[0] in ("-h", "--help"):
        print(_RUN_USAGE)
        print(_RUN_HELP)
        return 0 if argv else 2
    try:
        options, argv = _run_options(argv)
    except ValueError as error:
        print(f"{_RUN_USAGE}\nslimcompat run: error: {error}", file=sys.stderr)
        return 2
    if not argv or (argv[0] == "-m" and len(argv) < 2):
        print(_RUN_USAGE, file=sys.stderr)
        return 2
    from slimcompat.cli import quiet
    from slimcompat.legacy import launcher
    quiet.apply_to_program(verbose=options.verbose)
    try:
        if argv[0] == "-m":
            launcher.run_module(argv[1], argv[2:], options)
        else:
            launcher.run_script(argv[0], argv[1:], options)
    except SlimcompatError as exc:
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
        from slimcompat.cli import progress
        progress.choose(getattr(args, "progress", None))
        module = importlib.import_module(SUBCOMMANDS[args.command][0])
        return module.run(args)
    except (SlimcompatError, OSError, UnicodeError) as exc:
        print(f"slimcompat: error: {_one_line(exc)}", file=sys.stderr)
        return getattr(exc, "status", 2)
    except KeyboardInterrupt:
        print("slimcompat: interrupted", file=sys.stderr)
        return _INTERRUPTED
