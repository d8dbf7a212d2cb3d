"""Find the uses that reach into tensorflow.contrib, and name their modern homes.

`tf.contrib.slim.conv2d`, `tf.contrib.framework.arg_scope` or `layers.foo`
(after `import tensorflow.contrib.layers as layers`) are attribute chains that
tf_upgrade_v2 leaves alone, reports as unconvertible, or (slim's regularizers
and initializers) rewrites into Keras. Each chain is resolved here, before
that tool's visitor runs, into an exact entry
of its `symbol_renames` table, so its visitor performs and logs the renames
like any of its own. Chains it already renames itself are left to it; chains
with no modern home are reported as errors.
"""

import ast
import dataclasses

from tensorflow.tools.compatibility.ast_edits import ERROR

from slimcompat.legacy.program import name_parts
from slimcompat.migrate.resolve import NotProvided, is_contrib, normalize, resolve

__all__ = ["Usages", "scan", "attribute_chains"]


@dataclasses.dataclass
class Usages:
    renames: dict = dataclasses.field(default_factory=dict)
    needed: set = dataclasses.field(default_factory=set)
    logs: list = dataclasses.field(default_factory=list)


class _Chains(ast.NodeVisitor):
    def __init__(self):
        self.found = []

    def visit_Attribute(self, node):
        parts = name_parts(node)
        if parts is None:
            self.generic_visit(node)
        else:
            self.found.append((node, parts))


def attribute_chains(tree):
    """(node, [root, attr, ...]) for each outermost `name.attr.attr` chain."""
    visitor = _Chains()
    visitor.visit(tree)
    return visitor.found


def scan(tree, legacy, modern, top_level, handled):
    """Renames and imports for the contrib chains in `tree`.

    legacy / modern: {name: dotted path} bound by the imports before / after
    the import rewrite; top_level: the modern top-level bindings that may
    spell a new name; handled: the full names tf_upgrade_v2 renames itself.
    """
    usages = Usages()
    for node, parts in attribute_chains(tree):
        root = parts[0]
        if root not in legacy:
            continue
        full = normalize(".".join([legacy[root], *parts[1:]]))
        if not is_contrib(full):
            if root not in modern and legacy[root] == root:
                usages.needed.add(root)
            continue
        if any(".".join(parts[:k]) in handled for k in range(2, len(parts) + 1)):
            continue
        try:
            home = resolve(full)
        except NotProvided as error:
            usages.logs.append((ERROR, node.lineno, node.col_offset,
                                f"{'.'.join(parts)} is not migrated: {error}"))
            continue
        if root in modern and ".".join([modern[root], *parts[1:]]) == home.name:
            continue
        spelled, needs = _spell(home, top_level)
        usages.renames[".".join(parts)] = spelled
        if needs:
            usages.needed.add(home.module)
    return usages


def _spell(home, top_level):
    """How to write `home`, and whether that needs `import home.module`.

    Always the canonical dotted name: a user's alias such as `layers` would
    make `layers.arg_scope` read as something it is not. TensorFlow's names
    go through the file's own name for it (`tf`); its lazy API needs no
    submodule imports.
    """
    for name, path in top_level.items():
        if path == "tensorflow" and home.name.startswith("tensorflow."):
            return name + home.name[len(path):], False
    return home.name, True
