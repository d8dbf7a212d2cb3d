"""`slimcompat run`: run a TF1-era or Keras-era script or module unmodified.

Behaves as `python SCRIPT ARGS` or `python -m MODULE ARGS` would (sys.argv,
sys.path[0] and `__main__` are set as the interpreter sets them, SystemExit
passes through) after deciding, from the program's source
(slimcompat.legacy.program), what it was written against:

- TF1 code gets the legacy import path (slimcompat.legacy.enable): the v1 API
  for its own code, `tensorflow.contrib`, graph mode; TF2 code stays eager
  with the real TensorFlow 2.
- Keras-era code gets Keras 2 (tf-keras) as `tf.keras` and as `keras`, Keras 3
  code Keras 3; either way the Keras 2 modules Keras dropped are served
  (slimcompat.keras2.modules), Keras 1 arguments are converted as Keras 2.3
  did (slimcompat.keras2.keras1_args), defaults and names whose meaning changed
  since keep the author's (slimcompat.keras2.era_run), and `get_file` never
  downloads (slimcompat.keras2.offline).
- NumPy's aliases that NumPy 1.24 removed (`np.float`) are served where the
  program uses them (slimcompat.legacy.numpy_names).

One line on stderr says what was chosen and why; RunOptions override each
choice (the CLI's `--tf`, `--keras`; SLIMCOMPAT_TF, SLIMCOMPAT_KERAS).
"""

import dataclasses
import importlib.metadata
import os
import runpy
import sys
from typing import Dict, Optional, Tuple

__all__ = ["RunOptions", "Decision", "run_script", "run_module", "prepare"]


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Choices the user makes instead of the program analysis (None: decide from the source)."""

    tf: Optional[str] = None              # "1" or "2"
    keras: Optional[str] = None           # "2" or "3"
    weights_dirs: Tuple[str, ...] = ()
    trusted: Dict[str, str] = dataclasses.field(default_factory=dict)
    v1_code: Tuple[str, ...] = ()
    v2_code: Tuple[str, ...] = ()
    verbose: bool = False

    def with_env(self):
        """These options, with SLIMCOMPAT_TF / SLIMCOMPAT_KERAS (and TensorFlow's own
        TF_USE_LEGACY_KERAS=1, a choice of Keras 2) filling what is not given."""
        legacy = "2" if os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True") else None
        return dataclasses.replace(self, tf=self.tf or os.environ.get("SLIMCOMPAT_TF") or None,
                                   keras=self.keras or os.environ.get("SLIMCOMPAT_KERAS") or legacy)


@dataclasses.dataclass
class Decision:
    """What `run` chose, and the reasons it prints."""

    tf1: bool
    graph_mode: bool
    keras: str
    tf_reason: str
    keras_reason: str
    details: list = dataclasses.field(default_factory=list)
    warnings: list = dataclasses.field(default_factory=list)

    def line(self):
        if self.tf1:
            mode = "TF1 API in graph mode" if self.graph_mode else "TF1 API, eager"
        else:
            mode = "TF2, eager"
        if self.keras == "2":
            keras = f"Keras 2 (tf-keras {_version('tf-keras')}) as tf.keras and keras"
        else:
            keras = f"Keras {_version('keras')}"
        return f"slimcompat run: {mode} ({self.tf_reason}); {keras} ({self.keras_reason})"


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def prepare(program, options, roots, launched):
    """Set up this process for `program` before it runs; return the Decision.

    Must run before TensorFlow is imported for the Keras choice to reach
    `tf.keras`.
    """
    from slimcompat.keras2 import dropped_args, era_meanings, era_run, keras1_args, modules, offline
    from slimcompat.legacy import code_policy, enable, numpy_names
    options = options.with_env()
    _check("--tf", options.tf, ("1", "2"))
    _check("--keras", options.keras, ("2", "3"))
    if program is None:
        keras = options.keras or "3"
        keras_reason = "chosen by the user" if options.keras else f"{launched} is not the program's own code"
    elif options.keras:
        keras, keras_reason = options.keras, "chosen by --keras, SLIMCOMPAT_KERAS or TF_USE_LEGACY_KERAS"
    else:
        keras, evidence = program.keras_version()
        keras_reason = f"{evidence}" if evidence else "no Keras 2-only construct found"
    os.environ["TF_USE_LEGACY_KERAS"] = "1" if keras == "2" else "0"
    modules.install(keras, replace=True)
    if keras == "2":
        keras1_args.install(program.kernel_sites() if program is not None else ())
        era_run.install(program is not None and era_meanings.is_keras2_era(program))
        if program is not None and era_meanings.is_keras2_era(program):
            from slimcompat.keras2 import backend22
            backend22.install()
        dropped_args.install()
    offline.install(offline.Settings.from_env(options.weights_dirs, options.trusted, options.verbose))
    if program is not None and program.numpy_aliases:
        numpy_names.install(program.numpy_aliases)
    import tensorflow  # noqa: F401  (after TF_USE_LEGACY_KERAS, which TensorFlow reads at import)
    if options.tf:
        tf1, tf_reason, eager = options.tf == "1", "chosen by --tf or SLIMCOMPAT_TF", None
    elif program is None:
        tf1, tf_reason, eager = True, f"{launched} is installed code: TF1 assumed; --tf 2 for TF2", None
    else:
        evidence, eager = program.tf1(), program.eager
        tf1 = bool(evidence)
        tf_reason = f"{evidence[0]}" if tf1 else f"no TF1-only API in {os.path.basename(launched)}"
    decision = Decision(tf1, tf1 and eager is None, keras, tf_reason, keras_reason)
    if tf1 and eager is not None:
        decision.tf_reason += f"; {eager}"
    policy = code_policy(roots, options.v1_code, options.v2_code)
    enable(v1=tf1, graph_mode=decision.graph_mode, policy=policy)
    if decision.graph_mode and keras == "2":
        from slimcompat.keras2 import graph_optimizers
        graph_optimizers.install()
    if program is not None:
        decision.details = _details(program, policy)
        decision.warnings = program.ambiguous_kernels()
    return decision


def _check(flag, value, allowed):
    if value is not None and value not in allowed:
        from slimcompat.errors import SlimcompatError
        raise SlimcompatError(f"{flag} {value}: expected one of {', '.join(allowed)}")


def _details(program, policy):
    lines = [f"analysed: {', '.join(program.files)}"]
    for label, found in (("TF1", program.tf1()), ("Keras 2", program.keras2), ("Keras 3", program.keras3),
                         ("tf.keras", program.tf_keras[:3]), ("keras", program.keras[:3]),
                         ("Keras 1 arguments", program.keras1)):
        if found:
            lines.append(f"{label}: " + ", ".join(map(str, found[:8])) + (" ..." if len(found) > 8 else ""))
    lines.append(f"v1 API for: {policy}")
    return lines


def _announce(decision, options):
    print(decision.line(), file=sys.stderr)
    for line in decision.warnings:
        print(f"slimcompat run: warning: {line}", file=sys.stderr)
    if options.verbose:
        for line in decision.details:
            print(f"slimcompat run:   {line}", file=sys.stderr)


def run_script(path, args=(), options=None):
    """Run the file at `path` as `__main__` with `args` in sys.argv; return its globals."""
    from slimcompat.legacy.program import analyse
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such script")
    options = options or RunOptions()
    folder = os.path.dirname(os.path.abspath(path))
    decision = prepare(analyse(path), options, [folder], path)
    _announce(decision, options)
    sys.argv = [os.fspath(path), *args]
    sys.path.insert(0, folder)
    return runpy.run_path(os.fspath(path), run_name="__main__")


def run_module(name, args=(), options=None):
    """Run module `name` as `python -m name` would; the current folder holds the program's own code."""
    from slimcompat.legacy.program import analyse, module_file
    options = options or RunOptions()
    sys.path.insert(0, os.getcwd())
    source = module_file(name)
    own = source is not None and os.path.realpath(source).startswith(os.path.realpath(os.getcwd()) + os.sep)
    decision = prepare(analyse(source) if own else None, options, [os.getcwd()], name)
    _announce(decision, options)
    sys.argv = [name, *args]
    runpy.run_module(name, run_name="__main__", alter_sys=True)
