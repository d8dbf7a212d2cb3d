"""Adding and replacing statements in a pasta tree without breaking its layout.

pasta keeps each statement's leading comments and indentation in its
`prefix` and the rest of its line in its `suffix`; a node made from a snippet
has neither. These helpers set them, so inserted lines sit at the right
indentation and comments stay with the statement they describe.
"""

import ast

import pasta
from pasta.base import formatting

__all__ = ["statement", "blocks", "walk_statements", "insert_before", "insert_after", "replace"]

_BLOCK_FIELDS = ("body", "orelse", "finalbody")


def statement(code, like):
    """One statement parsed from `code`, located at `like` for log messages."""
    node = pasta.parse(code).body[0]
    ast.copy_location(node, like)
    return node


def blocks(tree):
    """Every statement list in the tree (module, function, class, if/try bodies...)."""
    for node in ast.walk(tree):
        for field in _BLOCK_FIELDS:
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def walk_statements(block, top=True):
    """(block, index, is_top_level) for each statement, in source order."""
    for index, node in enumerate(block):
        yield block, index, top
        inner = [getattr(node, "body", None)]
        inner += [h.body for h in getattr(node, "handlers", ()) or ()]
        inner += [c.body for c in getattr(node, "cases", ()) or ()]
        inner += [getattr(node, "orelse", None), getattr(node, "finalbody", None)]
        for body in inner:
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield from walk_statements(body, top=False)


def _indent(node):
    return formatting.get(node, "indent") or ""


def _line(node, prefix):
    formatting.set(node, "prefix", prefix)
    suffix = formatting.get(node, "suffix") or ""
    formatting.set(node, "suffix", suffix if suffix.endswith("\n") else suffix + "\n")


def insert_before(block, index, node):
    """Put `node` before block[index]; the comments above that line move above `node`."""
    old = block[index]
    _line(node, formatting.get(old, "prefix") or "")
    formatting.set(old, "prefix", _indent(old))
    block.insert(index, node)


def insert_after(block, index, nodes):
    """Put `nodes`, one a line, right after block[index]."""
    anchor = block[index]
    suffix = formatting.get(anchor, "suffix") or ""
    if "\n" not in suffix:
        formatting.set(anchor, "suffix", suffix + "\n")
    for offset, node in enumerate(nodes, start=1):
        _line(node, _indent(anchor))
        block.insert(index + offset, node)


def replace(block, index, nodes):
    """Replace block[index] by `nodes`, keeping its leading comments and line end."""
    old = block.pop(index)
    for offset, node in enumerate(nodes):
        _line(node, _indent(old))
        block.insert(index + offset, node)
    formatting.set(nodes[0], "prefix", formatting.get(old, "prefix") or "")
    formatting.set(nodes[-1], "suffix", formatting.get(old, "suffix") or "\n")
