"""The top-level statements of a program that building its model needs: a dependency slice.

The slice starts from the names the `--model` spec reads. A statement is needed
when it binds a needed name, and then the names it reads are needed too: for a
function or class definition its decorators, bases and defaults and the globals
its body reads when called (symtable). This runs to a fixed point, so the slice
is the closure of what the construction reaches. Statements that only use a
name (`model.fit(...)`, `model.summary()`, plotting) bind nothing needed and
are left out; so are `history = train(model)` or `data = load()` when only
functions outside the closure read their targets, and definitions and imports
nothing needed reaches. A statement that changes a needed object in place
counts as binding it (`model.add(layer)`, `parser.add_argument(...)`,
`config["depth"] = 50`, a module's settings such as
`K.set_image_data_format(...)`), unless it is what one does with a built model
(fit, evaluate, predict, save, summary, compile).

An `if`, `for`, `while`, `try` or `with` is sliced the same way, not kept
whole: it is kept when a statement inside it is, with only those statements (a
loop keeps its `break` and `continue`, a `try` its handlers), so
`with strategy.scope(): model = build(); model.fit(...)` enters the scope and
builds, and does not train.

Definitions the construction may find by name, not by reading it, are kept:
all of them when it reads `globals()` (or `vars`, `eval`, `exec`), and those
decorated by a function of the module that reads a needed name (a registry).
"""

import ast
import copy
import os
import symtable

__all__ = ["scopes", "slice_body", "bound_names", "imported"]

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_TRIES = tuple(getattr(ast, n) for n in ("Try", "TryStar") if hasattr(ast, n))
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
# a construction that reads one of these may look any definition up by name
_DYNAMIC = frozenset({"globals", "vars", "eval", "exec"})
# what is done with a built model, never to build it
_USES = frozenset({"compile", "fit", "fit_generator", "train_on_batch", "evaluate", "evaluate_generator",
                   "test_on_batch", "predict", "predict_generator", "predict_on_batch", "save", "save_weights",
                   "load_weights", "summary", "to_json", "to_yaml", "export", "plot", "show", "savefig"})


def scopes(source, path):
    """{(name, line): symbol table} of the functions and classes defined at module level."""
    try:
        module = symtable.symtable(source, os.fspath(path), "exec")
    except SyntaxError:
        return {}
    return {(child.get_name(), child.get_lineno()): child for child in module.get_children()}


def slice_body(body, needed, tables):
    """(the statements of `body` that building `needed` requires, in order; the names they need).

    tables: `scopes(...)` of the same source.
    """
    nodes = _Nodes(body, tables)
    needed, kept = set(needed), set()

    def keep(node):
        while node is not None and id(node) not in kept:
            kept.add(id(node))
            needed.update(nodes.reads[id(node)])
            for part in nodes.companions(node):
                keep(part)
            node = nodes.parent[id(node)]

    changed = True
    while changed:
        changed = False
        for node in nodes.all:
            if id(node) in kept:
                continue
            loop = nodes.loop.get(id(node))
            if _star(node) or (nodes.binds[id(node)] | nodes.changes.get(id(node), set())) & needed or (
                    loop is not None and id(loop) in kept) or nodes.registers(node, needed):
                keep(node)
                changed = True
    return _rebuild(body, kept), needed


def bound_names(body, tables):
    """Every name the module's top-level statements bind: what `import module` used as a whole needs."""
    nodes = _Nodes(body, tables)
    return set().union(*(nodes.binds[id(n)] for n in nodes.all)) if nodes.all else set()


def imported(body, needed):
    """{module: names the statements `body` need from it, or None for all} of the absolute imports in `body`.

    `from M import a` needs a; `from M import *` the names `needed`; `import M` (or `as m`) the
    attributes read off it, or all when the module itself is passed around.
    """
    found, aliases = {}, {}
    tree = ast.Module(body=list(body), type_ignores=[])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = set(needed) if _star(node) else {a.name for a in node.names}
            found[node.module] = _merge(found.get(node.module, set()), names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if "." not in alias.name:
                    aliases.setdefault(alias.asname or alias.name, set()).add(alias.name)
                    found.setdefault(alias.name, set())
    loads, attributes = {}, {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in aliases and isinstance(node.ctx, ast.Load):
            loads[node.id] = loads.get(node.id, 0) + 1
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            attributes.setdefault(node.value.id, []).append(node.attr)
    for name, modules in aliases.items():
        read = attributes.get(name, [])
        names = None if loads.get(name, 0) > len(read) else set(read)
        for module in modules:
            found[module] = _merge(found[module], names)
    return found


def _merge(a, b):
    return None if a is None or b is None else a | b


class _Nodes:
    """The statements of a module body (compound statements' own statements, handlers and cases
    included; definitions are leaves), each with its parent, the names it binds and reads, and
    for a `break` or `continue` its loop."""

    def __init__(self, body, tables):
        self.all, self.parent, self.binds, self.reads, self.loop = [], {}, {}, {}, {}
        self._tables = tables
        self._walk(body, None, None)
        modules = set().union(*(self.binds[id(n)] for n in self.all if isinstance(n, (ast.Import, ast.ImportFrom))))
        self.changes = {id(n): {root} for n in self.all if (root := _changed(n, modules))}

    def _walk(self, body, parent, loop):
        for node in body:
            self.all.append(node)
            self.parent[id(node)] = parent
            if isinstance(node, (ast.Break, ast.Continue)) and loop is not None:
                self.loop[id(node)] = loop
            if isinstance(node, _DEFS) or not _blocks(node):
                self.binds[id(node)], self.reads[id(node)] = _bound(node), _used(node, self._tables)
                continue
            header = [v for field, v in ast.iter_fields(node) if field not in _BLOCKS]
            self.binds[id(node)] = _header_binds(node, header)
            self.reads[id(node)] = set().union(*(_names(v) for v in _flat(header))) if header else set()
            inner = node if isinstance(node, _LOOPS) else loop
            for field, statements in _blocks(node):
                # a loop's `else` runs after the loop: a break there belongs to an outer loop
                self._walk(statements, node, loop if field == "orelse" else inner)

    def registers(self, node, needed):
        """Whether defining `node` may put it where the construction looks it up by name: `globals()[name]`
        is needed, or a decorator of it is a function of the module that reads a needed name
        (`@register` filling a needed `MODELS` table)."""
        if not isinstance(node, _DEFS):
            return False
        if needed & _DYNAMIC:
            return True
        decorators = set().union(*(_names(d) for d in node.decorator_list)) if node.decorator_list else set()
        return any(self.reads[id(d)] & needed for d in self.all
                   if isinstance(d, _DEFS) and d.name in decorators and d is not node)

    def companions(self, node):
        """What keeping `node` keeps with it: a try's handlers, a match's cases."""
        if isinstance(node, _TRIES):
            return node.handlers
        return getattr(node, "cases", []) if isinstance(node, getattr(ast, "Match", ())) else []


def _changed(node, modules):
    """The name a statement changes in place without binding it, if building may depend on that:
    `model.add(layer)`, `parser.add_argument(...)`, `config["depth"] = 50`, and of a module its
    settings (`K.set_image_data_format(...)`, `np.random.seed(0)`); not what uses a built model
    (`model.fit(...)`, `model.summary()`: _USES)."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute):
        root, method = _root(node.value.func.value), node.value.func.attr
        if root is None or method in _USES:
            return None
        if root in modules:
            return root if method.startswith("set_") or method == "seed" else None
        return root
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        roots = {_root(t.value) for t in targets if isinstance(t, (ast.Attribute, ast.Subscript))} - {None}
        return next(iter(roots - modules), None) if len(roots) == 1 else None
    return None


def _root(node):
    """`a` of `a`, `a.b.c`, `a[0].b`."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _blocks(node):
    """(field, statements) of the statement lists directly inside a compound statement."""
    if isinstance(node, _DEFS):
        return []
    return [(f, v) for f in _BLOCKS if isinstance(v := getattr(node, f, None), list) and v
            and isinstance(v[0], (ast.stmt, ast.excepthandler, getattr(ast, "match_case", ast.excepthandler)))]


def _flat(values):
    for value in values:
        if isinstance(value, list):
            yield from _flat(value)
        elif isinstance(value, ast.AST):
            yield value


def _header_binds(node, header):
    names = set().union(*(_names(v, ast.Store) for v in _flat(header))) if header else set()
    if isinstance(node, ast.ExceptHandler) and node.name:
        names.add(node.name)
    pattern = getattr(node, "pattern", None)
    if pattern is not None:
        for n in ast.walk(pattern):
            names.update(x for x in (getattr(n, "name", None), getattr(n, "rest", None)) if isinstance(x, str))
    return names


def _rebuild(body, kept):
    out = []
    for node in body:
        if id(node) not in kept:
            continue
        blocks = _blocks(node)
        if blocks:
            node = copy.copy(node)
            for field, statements in blocks:
                if field in ("handlers", "cases"):
                    inner = [copy.copy(h) for h in statements]
                    for h in inner:
                        h.body = _rebuild(h.body, kept) or [ast.Pass()]
                    setattr(node, field, inner)
                else:
                    setattr(node, field, _rebuild(statements, kept) or ([ast.Pass()] if field == "body" else []))
            if isinstance(node, _TRIES) and not node.handlers and not node.finalbody:
                node.finalbody = [ast.Pass()]
        out.append(node)
    return out


def _names(node, kind=ast.Load):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, kind)}


def _bound(node):
    """Names a simple statement or definition binds."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    if isinstance(node, _DEFS):
        return {node.name}
    return _names(node, ast.Store)


def _star(node):
    """`from X import *` may bind anything the rest needs."""
    return isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)


def _global_references(table):
    """Module-level names a function or class body (and what it nests) reads."""
    found = {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
    for child in table.get_children():
        found |= _global_references(child)
    return found


def _used(node, tables):
    """Module-level names a statement reads: for a definition, its decorators, bases and defaults and
    the globals its body reads when called (symtable), not the names local to it."""
    if not isinstance(node, _DEFS):
        return _names(node)
    outer = [*node.decorator_list]
    if isinstance(node, ast.ClassDef):
        outer += [*node.bases, *(k.value for k in node.keywords)]
    else:
        outer += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    names = set().union(*(_names(n) for n in outer)) if outer else set()
    table = tables.get((node.name, node.lineno))
    return names | (_global_references(table) if table is not None else _names(node))
