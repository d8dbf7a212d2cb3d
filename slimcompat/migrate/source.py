"""Migrate one source text with TensorFlow's upgrader and the extended spec.

ASTCodeUpgrader is tf_upgrade_v2's own engine; only its change spec is ours
(slimcompat.migrate.spec). Its log lines come back as text and are parsed
into (level, line, col, message), and what it prints while working is
swallowed, since the report prints every line once.
"""

import ast
import contextlib
import io
import re

from tensorflow.tools.compatibility import ast_edits

from slimcompat.migrate.spec import SlimChangeSpec

__all__ = ["ParseError", "migrate_source"]

_LOG = re.compile(r"(\d+):(\d+): (INFO|WARNING|ERROR): (.*)", re.S)


class ParseError(ValueError):
    """The text is not Python this interpreter (or pasta) can parse; one line."""

    def __init__(self, message, line=0, col=0):
        super().__init__(message)
        self.line, self.col = line, col


def migrate_source(text, filename="<string>"):
    """(migrated text, [(level, line, col, message)]) for one Python source."""
    try:
        ast.parse(text, filename)
    except (SyntaxError, ValueError) as error:
        raise ParseError(f"cannot parse: {type(error).__name__}: "
                         f"{getattr(error, 'msg', None) or error}",
                         getattr(error, "lineno", None) or 0,
                         max((getattr(error, "offset", None) or 1) - 1, 0)) from None
    upgrader = ast_edits.ASTCodeUpgrader(SlimChangeSpec())
    with contextlib.redirect_stdout(io.StringIO()):
        processed, new_text, logs, _ = upgrader.update_string_pasta(text, filename)
    if not processed:
        last = (logs[-1].strip().splitlines() or ["?"])[-1] if logs else "?"
        raise ParseError(f"cannot parse: pasta failed: {last}")
    return new_text, [_entry(log) for log in logs]


def _entry(log):
    match = _LOG.match(log)
    if match is None:
        return ("INFO", 0, 0, _one_line(log))
    line, col, level, message = match.groups()
    return (level, int(line), int(col), _one_line(message))


def _one_line(message):
    return " ".join(line.strip() for line in message.strip().splitlines() if line.strip())
