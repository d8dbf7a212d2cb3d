"""Rewrite `import tensorflow.contrib...` statements to the modules that replaced them.

tf_upgrade_v2 leaves contrib import statements alone and reports nothing, so
its output dies on import. Its visitor renames imports only by their first
component (`import_renames`), which cannot say "tensorflow.contrib.slim is
tf_slim, but tensorflow is still tensorflow". So this pass runs from the change
spec's preprocess hook, before that visitor, and asks the import table
(slimcompat.migrate.resolve) for each legacy module's home. Statements it
cannot migrate are left as they are and reported as errors.
"""

import ast

from tensorflow.tools.compatibility.ast_edits import ERROR, INFO, WARNING

from slimcompat.legacy.contrib import COMPOSITES
from slimcompat.migrate import pasta_edit
from slimcompat.migrate.resolve import CONTRIB, NotProvided, is_contrib, is_module, normalize, resolve

__all__ = ["rewrite", "bindings", "imported_modules"]


def bindings(tree, top_level=False):
    """{bound name: the dotted module or object it names}, from import statements."""
    found = {}
    for block, index, top in pasta_edit.walk_statements(tree.body):
        node = block[index]
        if top_level and not top:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    found[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def imported_modules(tree):
    """Modules a top-level `import x.y` (no `as`) imports and binds by their root."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not alias.asname:
                    parts = alias.name.split(".")
                    found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def rewrite(tree):
    """Rewrite every contrib import in the tree in place; return the log entries."""
    logs = []
    for block in list(pasta_edit.blocks(tree)):
        for node in list(block):
            if isinstance(node, ast.Import):
                _rewrite_import(node, logs)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                _rewrite_from(block, block.index(node), logs)
    return logs


def _rewrite_import(node, logs):
    before = ast.unparse(node)
    changed = False
    for alias in node.names:
        legacy = normalize(alias.name)
        if not is_contrib(legacy):
            continue
        modern = _resolve(node, legacy, logs)
        if modern is None:
            continue
        if not modern.is_module:
            _error(node, logs, f"{legacy} is now {modern.name}, not a module")
            continue
        alias.name = modern.name
        changed = True
    if changed:
        logs.append((INFO, node.lineno, node.col_offset,
                     f"Changed import {before!r} to {ast.unparse(node)!r}"))


def _rewrite_from(block, index, logs):
    node = block[index]
    legacy_module = normalize(node.module)
    if not is_contrib(legacy_module):
        if legacy_module in ("tensorflow", "tensorflow.compat.v1") and any(
                alias.name == "contrib" for alias in node.names):
            _resolve(node, CONTRIB, logs)
        return
    targets = [_target(node, legacy_module, alias, logs) for alias in node.names]
    if all(target is None for target in targets):
        return
    targets = [target or ("from", node.module, alias.name, alias.asname)
               for target, alias in zip(targets, node.names)]
    before = ast.unparse(node)
    groups = []
    for kind, module, name, asname in targets:
        same = [g for g in groups if kind == "from" and g[:2] == ("from", module)]
        if same:
            same[0][2].append((name, asname))
        else:
            groups.append((kind, module, [(name, asname)]))
    if len(groups) == 1 and groups[0][0] == "from":
        node.module = groups[0][1]
        for alias, (name, asname) in zip(node.names, groups[0][2]):
            alias.name, alias.asname = name, asname
        after = ast.unparse(node)
    else:
        statements = [pasta_edit.statement(_code(*group), node) for group in groups]
        pasta_edit.replace(block, index, statements)
        after = "; ".join(ast.unparse(statement) for statement in statements)
    logs.append((INFO, node.lineno, node.col_offset, f"Changed import {before!r} to {after!r}"))


def _target(node, legacy_module, alias, logs):
    """(kind, module, name, asname) that binds what the alias bound, or None to keep it."""
    if alias.name == "*":
        modern = _resolve(node, legacy_module, logs)
        if modern is None:
            return None
        if not modern.is_module:
            _error(node, logs, f"{legacy_module} is now {modern.name}, not a module")
            return None
        if legacy_module in COMPOSITES:
            logs.append((WARNING, node.lineno, node.col_offset,
                         f"{legacy_module} has no single modern module; `*` now imports "
                         f"only what {modern.name} defines"))
        return ("from", modern.name, "*", None)
    bound = alias.asname or alias.name
    modern = _resolve(node, f"{legacy_module}.{alias.name}", logs)
    if modern is None:
        return None
    parent, _, last = modern.name.rpartition(".")
    if parent and is_module(parent):
        return ("from", parent, last, None if last == bound else bound)
    if modern.is_module:
        return ("import", modern.name, None, bound)
    _error(node, logs, f"{legacy_module}.{alias.name} is now {modern.name}, "
                       "which cannot be imported by name")
    return None


def _resolve(node, legacy, logs):
    try:
        return resolve(legacy)
    except NotProvided as error:
        _error(node, logs, str(error))
        return None


def _error(node, logs, message):
    logs.append((ERROR, node.lineno, node.col_offset, f"{message}; import left as it is"))


def _code(kind, module, names):
    if kind == "import":
        (_, asname), = names
        return f"import {module} as {asname}" if asname and asname != module else f"import {module}"
    spelled = ", ".join(f"{name} as {asname}" if asname else name for name, asname in names)
    return f"from {module} import {spelled}"
