"""A user's model from the user's code: `path.py:NAME` or `path.py:NAME(ARGS)`, without running the program.

Model code of the Keras era is usually a whole program: it builds the model,
then trains it, saves checkpoints and plots (seed 003), or prints a summary
(seed 001). `load_model` runs only what building the model needs: the
imports, function and class definitions, and the top-level statements that
(transitively) define the names the spec and those definitions use; calls
made for their effect (`model.fit(...)`, `model.summary()`) are skipped. Then
NAME is evaluated: a model object, or a function or class called with ARGS
(none when ARGS is absent).

The code gets the Keras it was written for, in its own namespace only (the
process keeps whatever Keras it has): Keras 2 (tf-keras) as `tf.keras` and
`keras`, or Keras 3, chosen from the source as `slimcompat run` chooses it
(slimcompat.legacy.program) unless `keras` is given. Modules Keras dropped
(`keras.engine.topology`, `keras_applications`) come from the same table as
for `run` (slimcompat.keras2.modules). Files beside the code that it imports
are loaded the same way.
"""

import ast
import importlib
import os
import pathlib
import symtable
import types

from slimcompat.errors import SlimcompatError

__all__ = ["ModelSpec", "parse_spec", "load_model", "load_namespace", "keras_flavor"]

_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_BINDING = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.While, ast.With, ast.If, ast.Try)


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
    namespace = load_namespace(spec.path, keras=keras, needed=spec.names)
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
            raise SlimcompatError(f"--model {spec}: calling {spec.expression}() failed: {type(exc).__name__}: "
                                  f"{_first_line(exc)}") from exc
    if not _is_model(value):
        raise SlimcompatError(f"--model {spec}: {spec.expression} is a {type(value).__name__}, not a Keras model")
    return value


def _is_model(value):
    return any(c.__name__ in ("Model", "Layer") and c.__module__.split(".")[0] in ("keras", "tf_keras")
               for c in type(value).__mro__)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_namespace(path, keras=None, needed=(), full=False):
    """The namespace of the code at `path` after running its definitions and the statements `needed` needs.

    full: run every top-level statement (the modules the code imports from beside it).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise SlimcompatError(f"{path}: no such Python file")
    keras = keras or keras_flavor(path)[0]
    if keras not in ("2", "3"):
        raise SlimcompatError(f"keras must be '2' or '3', found {keras!r}")
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, os.fspath(path))
    except SyntaxError as exc:
        raise SlimcompatError(f"{path}:{exc.lineno}: not valid Python ({exc.msg})") from None
    if not full:
        tree.body = _slice(tree.body, set(needed), _scopes(source, path))
    importer = _Importer(keras, path.parent)
    namespace = {"__name__": f"slimcompat_user_{path.stem}", "__file__": os.fspath(path),
                 "__builtins__": dict(vars(__builtins__) if isinstance(__builtins__, types.ModuleType)
                                      else __builtins__, __import__=importer)}
    try:
        exec(compile(tree, os.fspath(path), "exec"), namespace)
    except SlimcompatError:
        raise
    except Exception as exc:
        line = _user_line(exc, path)
        raise SlimcompatError(f"{path}{line}: {type(exc).__name__}: {_first_line(exc)}") from exc
    return namespace


def _user_line(exc, path):
    tb, line = exc.__traceback__, ""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == os.fspath(path):
            line = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return line


def _names(node, kind=ast.Load):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, kind)}


def _bound(node):
    """Names a top-level statement binds."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    return _names(node, ast.Store)


def _star(statement):
    """`from X import *` may bind anything the rest needs."""
    return isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names)


def _global_references(table):
    """Module-level names a function or class body (and what it nests) reads."""
    found = {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
    for child in table.get_children():
        found |= _global_references(child)
    return found


def _used(statement, scopes):
    """Module-level names a statement reads: for a definition, its decorators, bases and defaults and the
    globals its body refers to (symtable), not the names local to it."""
    if not isinstance(statement, _KEEP[2:]):
        return _names(statement)
    outer = [*statement.decorator_list]
    if isinstance(statement, ast.ClassDef):
        outer += [*statement.bases, *(k.value for k in statement.keywords)]
    else:
        outer += [*statement.args.defaults, *(d for d in statement.args.kw_defaults if d is not None)]
    names = set().union(*(_names(node) for node in outer)) if outer else set()
    table = scopes.get((statement.name, statement.lineno))
    return names | (_global_references(table) if table is not None else _names(statement))


def _slice(body, needed, scopes):
    """The statements of `body` that building `needed` requires (see module doc), in their order."""
    needed = set(needed)
    keep = set()
    changed = True
    while changed:
        changed = False
        for index in range(len(body) - 1, -1, -1):
            statement = body[index]
            if index in keep:
                continue
            if isinstance(statement, _KEEP[2:]) or _star(statement) or (
                    isinstance(statement, _KEEP + _BINDING) and _bound(statement) & needed):
                keep.add(index)
                needed |= _used(statement, scopes)
                changed = True
    return [s for i, s in enumerate(body) if i in keep]


def _scopes(source, path):
    """{(name, line): symbol table} of the top-level functions and classes."""
    try:
        module = symtable.symtable(source, os.fspath(path), "exec")
    except SyntaxError:
        return {}
    return {(child.get_name(), child.get_lineno()): child for child in module.get_children()}


class _Importer:
    """`__import__` for the user's code: its Keras, the dropped Keras 2 modules, its sibling files."""

    def __init__(self, keras, folder):
        self.keras, self.folder = keras, pathlib.Path(folder)
        self.modules = {}
        self.real = __import__

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
        for candidate in (self.folder / f"{root}.py", self.folder / root / "__init__.py"):
            if candidate.is_file():
                if root not in self.modules:
                    module = types.ModuleType(root)
                    module.__dict__.update(load_namespace(candidate, keras=self.keras, full=True))
                    self.modules[root] = module
                return self.modules[root]
        return None


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

