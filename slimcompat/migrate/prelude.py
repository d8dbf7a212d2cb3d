"""The lines a migrated file needs to run with plain `python` on TF 2.x.

Each is added once and only where missing, so migrating twice changes nothing:
imports of the modules that renamed uses now name; `import slimcompat` before
the first tf_slim import, because tf-slim 1.1.0 only works on TF 2.16+ with
slimcompat's runtime repairs; and `disable_v2_behavior()` right after the
imports, because TF1 programs assume graph mode, reference variables and v1
control flow.
"""

import ast

from tensorflow.tools.compatibility.ast_edits import INFO

from slimcompat.migrate import pasta_edit
from slimcompat.migrate.imports import bindings, imported_modules

__all__ = ["SLIMCOMPAT_LINE", "add", "add_before"]

SLIMCOMPAT_LINE = "import slimcompat  # repairs tf_slim for TF 2.x"
_IMPORTS = (ast.Import, ast.ImportFrom)


def add(tree, needed, tf1_file):
    """Add the missing lines to the module in place; return the log entries.

    tf1_file: whether the file was TF1 code before its contrib imports were
    rewritten (slimcompat.legacy.program; it may now import only tf_slim, yet
    still expect graph mode). A TF2 file gets no graph mode.
    """
    logs = []
    _add_imports(tree, needed, logs)
    _add_slimcompat(tree, logs)
    _add_graph_mode(tree, tf1_file, logs)
    return logs


def add_before(tree, module, why):
    """`import module` before the first import of Keras or TensorFlow, unless the name is bound; the log entries."""
    logs = []
    for block, index, _ in pasta_edit.walk_statements(tree.body):
        node = block[index]
        if isinstance(node, ast.Import) and any(
                (a.asname is None and (a.name + ".").startswith(module + ".")) or a.asname == module
                for a in node.names):   # `import tf_keras as keras` binds the name `keras` uses need
            return logs
    line = f"import {module}"
    for block, index, _ in pasta_edit.walk_statements(tree.body):
        node = block[index]
        if any(_imports(node, root) for root in ("keras", "keras_applications", "tensorflow")):
            pasta_edit.insert_before(block, index, pasta_edit.statement(line, node))
            logs.append((INFO, node.lineno, node.col_offset, f"Added `{line}`: {why}"))
            return logs
    _add_imports(tree, {module}, logs, why=why)
    return logs


def _add_imports(tree, needed, logs, why="renamed uses need it"):
    have = imported_modules(tree)
    missing = sorted(module for module in needed if module not in have
                     and not any(other.startswith(module + ".") for other in needed))
    if not missing:
        return
    body = tree.body
    anchor = _anchor(body)
    lines = [f"import {module}" for module in missing]
    if anchor is not None:
        nodes = [pasta_edit.statement(line, body[anchor]) for line in lines]
        pasta_edit.insert_after(body, anchor, nodes)
    else:
        at = _after_docstring(body)
        nodes = [pasta_edit.statement(line, body[min(at, len(body) - 1)]) for line in lines]
        if at < len(body):
            for offset, node in enumerate(nodes):
                pasta_edit.insert_before(body, at + offset, node)
        else:
            pasta_edit.insert_after(body, at - 1, nodes)
    for node, line in zip(nodes, lines):
        logs.append((INFO, node.lineno, node.col_offset,
                     f"Added `{line}`: {why}"))


def _add_slimcompat(tree, logs):
    repaired = []
    for block, index, _ in pasta_edit.walk_statements(tree.body):
        node = block[index]
        if _imports(node, "slimcompat"):
            repaired.append(block)
        elif _imports(node, "tf_slim"):
            if any(b is block or b is tree.body for b in repaired):
                return
            pasta_edit.insert_before(block, index, pasta_edit.statement(SLIMCOMPAT_LINE, node))
            logs.append((INFO, node.lineno, node.col_offset,
                         f"Added `{SLIMCOMPAT_LINE}` before the first tf_slim import"))
            return


def _add_graph_mode(tree, tf1_file, logs):
    if not tf1_file or any(isinstance(node, ast.Call)
                                  and _called(node) == "disable_v2_behavior"
                                  for node in ast.walk(tree)):
        return
    body = tree.body
    found = _first_graph_mode_call(body)
    if found is None:
        if "tensorflow" in bindings(tree):
            return
        _add_imports(tree, {"tensorflow"}, logs, why="the file imported from tensorflow "
                     "before the rewrite and still needs graph mode")
        found = _first_graph_mode_call(body)
    index, call = found
    anchor = _run_end(body, index)
    pasta_edit.insert_after(body, anchor, [pasta_edit.statement(call, body[anchor])])
    logs.append((INFO, body[anchor].lineno, body[anchor].col_offset,
                 f"Added `{call}` after the imports: TF1 code expects graph mode"))


def _first_graph_mode_call(body):
    for index, node in enumerate(body):
        call = _graph_mode_call(node)
        if call:
            return index, call
    return None


def _graph_mode_call(node):
    """The disable_v2_behavior() call spelled with the name this import binds."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            name, asname = alias.name, alias.asname
            if name == "tensorflow.compat.v1" and asname:
                return f"{asname}.disable_v2_behavior()"
            if name in ("tensorflow", "tensorflow.compat.v2") and asname:
                return f"{asname}.compat.v1.disable_v2_behavior()"
            if name.split(".")[0] == "tensorflow" and not asname:
                return "tensorflow.compat.v1.disable_v2_behavior()"
    if isinstance(node, ast.ImportFrom) and node.module == "tensorflow.compat" and not node.level:
        for alias in node.names:
            if alias.name == "v1":
                return f"{alias.asname or 'v1'}.disable_v2_behavior()"
    return None


def _called(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _imports(node, package):
    if isinstance(node, ast.Import):
        return any(a.name == package or a.name.startswith(package + ".") for a in node.names)
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return node.module == package or node.module.startswith(package + ".")
    return False


def _anchor(body):
    """Index of the last import in the run of imports holding the first
    tensorflow import (else the first run of imports); None without imports."""
    first = next((i for i, node in enumerate(body) if _imports(node, "tensorflow")), None)
    if first is None:
        first = next((i for i, node in enumerate(body) if isinstance(node, _IMPORTS)), None)
    return None if first is None else _run_end(body, first)


def _run_end(body, index):
    while index + 1 < len(body) and isinstance(body[index + 1], _IMPORTS):
        index += 1
    return index


def _after_docstring(body):
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return 1
    return 0
