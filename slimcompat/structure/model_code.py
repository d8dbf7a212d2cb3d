"""A user's model from the user's code: `path.py:NAME` or `path.py:NAME(ARGS)`, without running the program.

Model code of the Keras era is usually a whole program: it builds the model,
then trains it, saves checkpoints and plots (seed 003), or prints a summary
(seed 001). `load_model` runs only what building the model needs: the
statements that bind the names the spec reads, and, transitively, the names
those read, a function's or class's being the globals its body reads when
called (slimcompat.structure.code_slice). Statements that use the model
(`model.fit(...)`, `model.summary()`), assignments such as
`history = train(model)` that only the training reads, and a `with` block's
statements other than the building are not run. Then NAME is evaluated: a
model object, or a function or class called with ARGS (none when ARGS is
absent). While the code runs `sys.argv` is `[path]`, and its `sys.exit()` or
an interrupt becomes one line naming the file and line it came from.

The code gets the Keras it was written for, in its own namespace only (the
process keeps whatever Keras it has): Keras 2 (tf-keras) as `tf.keras` and
`keras`, or Keras 3, chosen from the source as `slimcompat run` chooses it
(slimcompat.legacy.program) unless `keras` is given. Modules Keras dropped
(`keras.engine.topology`, `keras_applications`) come from the same table as
for `run` (slimcompat.keras2.modules). Files beside the code that it imports
are sliced the same way, for the names the code's own slice takes from them.
"""

import ast
import contextlib
import importlib
import os
import pathlib
import sys
import types

from slimcompat.errors import SlimcompatError
from slimcompat.structure import code_slice

__all__ = ["ModelSpec", "parse_spec", "load_model", "load_namespace", "keras_flavor", "UserCodeStopped"]


class ModelSpec:
    """`path.py:NAME[(ARGS)]` parsed: the file, the expression to evaluate, the names it needs."""

    def __init__(self, text):
        path, sep, expression = str(text).rpartition(":")
        if not sep or not path or not expression.strip():
            raise SlimcompatError(f"--model {text!r}: expected PATH.py:NAME or PATH.py:NAME(ARGS)")
        self.text, self.path, self.expression = str(text), pathlib.Path(path), expression.strip()
        try:
            tree = ast.parse(self.expression, mode="eval")
        except SyntaxError as exc:
            raise SlimcompatError(f"--model {text!r}: {self.expression!r} is not a Python expression "
                                  f"({exc.msg})") from None
        body = tree.body.func if isinstance(tree.body, ast.Call) else tree.body
        if not isinstance(body, (ast.Name, ast.Attribute)):
            raise SlimcompatError(f"--model {text!r}: expected a name or a call, found {self.expression!r}")
        self.call = isinstance(tree.body, ast.Call)
        self.names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        self.code = compile(tree, f"<--model {text}>", "eval")

    def __str__(self):
        return self.text


def parse_spec(text):
    return text if isinstance(text, ModelSpec) else ModelSpec(text)


def keras_flavor(path):
    """("2" or "3", reason) for the code at `path`, decided from its source as `slimcompat run` decides."""
    from slimcompat.legacy.program import analyse
    version, evidence = analyse(os.fspath(path)).keras_version()
    return version, str(evidence) if evidence else "no Keras 2-only construct found"


def load_model(spec, keras=None):
    """The model `spec` (`path.py:NAME[(ARGS)]`) names, built by the user's own code (see module doc).

    keras: "2" (tf-keras) or "3"; default: decided from the source.
    """
    spec = parse_spec(spec)
    with _running(spec.path) as importer:
        namespace = importer.start(spec.path, keras, spec.names)
        try:
            value = eval(spec.code, namespace)
        except SlimcompatError:
            raise
        except Exception as exc:
            raise SlimcompatError(f"--model {spec}: building the model failed: {type(exc).__name__}: "
                                  f"{_first_line(exc)}") from exc
        if not spec.call and callable(value) and not _is_model(value):
            try:
                value = value()
            except Exception as exc:
                raise SlimcompatError(f"--model {spec}: calling {spec.expression}() failed: "
                                      f"{type(exc).__name__}: {_first_line(exc)}") from exc
    if not _is_model(value):
        raise SlimcompatError(f"--model {spec}: {spec.expression} is a {type(value).__name__}, not a Keras model")
    return value


class UserCodeStopped(SlimcompatError):
    """The model code exited (SystemExit) or was interrupted (KeyboardInterrupt) while it ran.

    status: the exit status a command should end with (130 for an interrupt, as a shell has it).
    """

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def _is_model(value):
    return any(c.__name__ in ("Model", "Layer") and c.__module__.split(".")[0] in ("keras", "tf_keras")
               for c in type(value).__mro__)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_namespace(path, keras=None, needed=()):
    """The namespace of the code at `path` after running the statements building `needed` needs."""
    with _running(path) as importer:
        return importer.start(path, keras, needed)


@contextlib.contextmanager
def _running(path):
    """While the user's code runs: `sys.argv` is `[path]` (the code was not given ours), and its
    exits and interrupts become a UserCodeStopped naming where in its files they came from."""
    importer = _Importer(path)
    argv, sys.argv = sys.argv, [os.fspath(path)]
    try:
        yield importer
    except SystemExit as exc:
        raise UserCodeStopped(f"{importer.origin(exc)}: the model code exited (SystemExit {exc.code!r}) while "
                              f"building the model; it runs with no command-line arguments", 2) from None
    except KeyboardInterrupt as exc:
        raise UserCodeStopped(f"{importer.origin(exc)}: interrupted (KeyboardInterrupt) while the model code "
                              f"ran", 130) from None
    finally:
        sys.argv = argv


class _Importer:
    """The user's files, each sliced to what the model needs from it, and the `__import__` they get:
    their Keras, the dropped Keras 2 modules, the files beside the code (code_slice)."""

    def __init__(self, path):
        self.folder = pathlib.Path(path).parent
        self.keras = None
        self.modules = {}
        self.trees, self.tables, self.wants, self.plan = {}, {}, {}, {}

    def start(self, path, keras, needed):
        """The namespace of the code at `path` after running what building `needed` needs."""
        path = pathlib.Path(path)
        if not path.is_file():
            raise SlimcompatError(f"{path}: no such Python file")
        self.keras = keras or keras_flavor(path)[0]
        if self.keras not in ("2", "3"):
            raise SlimcompatError(f"keras must be '2' or '3', found {self.keras!r}")
        self.want(path, needed)
        return self.execute(path, {"__name__": f"slimcompat_user_{path.stem}"})

    def want(self, path, names):
        """Slice `path` for `names` too, and the files beside it for what that slice imports from them."""
        queue = [(path, set(names))]
        while queue:
            path, names = queue.pop()
            if path in self.plan and names <= self.wants[path]:
                continue
            self.wants[path] = self.wants.get(path, set()) | names
            tree, tables = self._parse(path)
            body, needed = code_slice.slice_body(tree.body, self.wants[path], tables)
            self.plan[path] = body
            for module, wanted in code_slice.imported(body, needed).items():
                sibling = self._sibling(module)
                if sibling is not None:
                    queue.append((sibling, wanted if wanted is not None else self._everything(sibling)))

    def execute(self, path, namespace):
        namespace.update({"__file__": os.fspath(path), "__builtins__": dict(
            vars(__builtins__) if isinstance(__builtins__, types.ModuleType) else __builtins__, __import__=self)})
        module = ast.fix_missing_locations(ast.Module(body=self.plan[path], type_ignores=[]))
        try:
            exec(compile(module, os.fspath(path), "exec"), namespace)
        except SlimcompatError:
            raise
        except Exception as exc:
            raise SlimcompatError(f"{self.origin(exc, path)}: {type(exc).__name__}: {_first_line(exc)}") from exc
        return namespace

    def origin(self, exc, default=None):
        """`file:line` of the deepest frame of `exc` in the user's files."""
        where, tb = default, exc.__traceback__
        files = {os.fspath(p): p for p in self.plan}
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if name in files:
                where = f"{files[name]}:{tb.tb_lineno}"
            tb = tb.tb_next
        return where or "the model code"

    def _parse(self, path):
        if path not in self.trees:
            source = path.read_text(encoding="utf-8", errors="replace")
            try:
                self.trees[path] = ast.parse(source, os.fspath(path))
            except SyntaxError as exc:
                raise SlimcompatError(f"{path}:{exc.lineno}: not valid Python ({exc.msg})") from None
            self.tables[path] = code_slice.scopes(source, path)
        return self.trees[path], self.tables[path]

    def _everything(self, path):
        tree, tables = self._parse(path)
        return code_slice.bound_names(tree.body, tables)

    def _sibling(self, name):
        """The file beside the code that `import name` loads, if any."""
        if "." in name or name in ("tensorflow", "keras", "keras_applications"):
            return None
        for candidate in (self.folder / f"{name}.py", self.folder / name / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def __call__(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            raise SlimcompatError(f"relative import of {name or '.'} in model code: load the code as a file "
                                  f"whose imports are absolute")
        module = self.module(name)
        return module if fromlist else self.module(name.split(".")[0])

    def module(self, name):
        if name not in self.modules:
            self.modules[name] = self._resolve(name)
        return self.modules[name]

    def _resolve(self, name):
        from slimcompat.keras2.modules import LEGACY
        root = name.split(".")[0]
        if name == "tensorflow":
            return _Proxy(name, importlib.import_module("tensorflow"), self, overrides={"keras": "keras"})
        if name.startswith("tensorflow.keras"):
            return self.module("keras" + name[len("tensorflow.keras"):])
        if root in ("keras", "keras_applications"):
            row = LEGACY.get(name)
            if row is not None:
                return _Composite(name, row, self.keras, self)
            return _Proxy(name, self._keras_module(name), self)
        local = self._local(root)
        if local is not None:
            return local if name == root else self._real(name)
        return self._real(name)

    def _keras_module(self, name):
        if name.startswith("keras_applications"):
            target = ("tf_keras.src.applications" if self.keras == "2" else "keras.applications") + \
                name[len("keras_applications"):]
        else:
            target = ("tf_keras" if self.keras == "2" else "keras") + name[len("keras"):]
        return self._real(target, shown=name)

    def _real(self, name, shown=None):
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            raise SlimcompatError(f"model code imports {shown or name}, which cannot be imported here "
                                  f"({_first_line(exc)})") from None

    def _local(self, root):
        path = self._sibling(root)
        if path is None:
            return None
        if root not in self.modules:
            if path not in self.plan:
                self.want(path, self._everything(path))  # imported in a way the slice cannot see
            module = self.modules[root] = types.ModuleType(root)
            module.__dict__.update(self.execute(path, {"__name__": f"slimcompat_user_{path.stem}"}))
        return self.modules[root]


class _Proxy(types.ModuleType):
    """A module as the user's code sees it: `base`'s attributes, submodules resolved by the importer."""

    def __init__(self, name, base, importer, overrides=None):
        super().__init__(name)
        self._base, self._importer, self._overrides = base, importer, dict(overrides or {})

    def __getattr__(self, attr):
        if attr.startswith("__") and attr not in ("__all__", "__version__", "__path__"):
            raise AttributeError(attr)
        if attr in self._overrides:
            return self._importer.module(self._overrides[attr])
        if attr == "__all__":
            return getattr(self._base, "__all__", [n for n in dir(self._base) if not n.startswith("_")])
        try:
            return getattr(self._base, attr)
        except AttributeError:
            pass
        try:
            return self._importer.module(f"{self.__name__}.{attr}")
        except SlimcompatError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}") from None


class _Composite(types.ModuleType):
    """A Keras 2 module Keras dropped, served from the modules that now hold its names (keras2.modules)."""

    def __init__(self, name, row, keras, importer):
        super().__init__(name)
        sources = (row.keras2,) if isinstance(row.keras2, str) else tuple(row.keras2)
        if keras == "3":
            sources = tuple(row.keras3)
        self._sources, self._importer = sources, importer
        self._names = {attr: paths[0 if keras == "2" else 1] for attr, paths in row.names.items()}
        self._removed = row.removed if keras == "3" else None

    def __getattr__(self, attr):
        if attr.startswith("__") and attr != "__all__":
            raise AttributeError(attr)
        from slimcompat.runtime.aliases import import_dotted
        if attr in self._names and self._names[attr]:
            return import_dotted(self._names[attr])
        if attr == "__all__":
            return sorted({n for s in self._sources for n in dir(importlib.import_module(s)) if not n.startswith("_")})
        for source in self._sources:
            module = importlib.import_module(source)
            if hasattr(module, attr):
                return getattr(module, attr)
        try:
            return self._importer.module(f"{self.__name__}.{attr}")
        except SlimcompatError:
            pass
        if self._removed:
            return _removed(f"{self.__name__}.{attr}", self._removed)
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")


def _removed(name, reason):
    def stand_in(*args, **kwargs):
        raise SlimcompatError(f"{name}: {reason}")
    stand_in.__name__ = name.rsplit(".", 1)[-1]
    return stand_in

