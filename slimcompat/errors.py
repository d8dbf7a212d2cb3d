"""Error types: each message is complete on one line, and the CLI prints it so.

Errors about a file name the file; errors about a tensor or layer name it and
say what was expected and what was found. A refusal (`Refusal`) also names the
way out: the flag or command that would work.

`status` is the command's exit code: 2 (bad usage, a file that cannot be read)
unless the class says otherwise; a refusal's is 3.
"""

__all__ = ["SlimcompatError", "WeightsError", "MappingError", "Refusal", "WeightsRefusal", "REFUSED"]

REFUSED = 3


class SlimcompatError(Exception):
    """An error the user can act on; its message is complete on one line."""


class Refusal(SlimcompatError):
    """Input that reads fine but is refused on its merits: the weights do not fit the target, or the target
    would compute something else with them. Its own exit code, so scripts tell it from a typing mistake."""

    status = REFUSED


class WeightsError(SlimcompatError):
    """A weight file that cannot be read, written or trusted."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class WeightsRefusal(WeightsError, Refusal):
    """A weight file refused on its merits (see Refusal), named as WeightsError names it."""


class MappingError(WeightsError):
    """Two sets of tensors that do not map one-to-one with equal shapes."""

    def __init__(self, where, missing=(), unexpected=(), mismatched=(), label=str):
        """Names as given (the lists keep them); `label(name)` is how the message shows each."""
        self.missing, self.unexpected, self.mismatched = list(missing), list(unexpected), list(mismatched)
        parts = []
        for kind, items in (("missing", self.missing), ("unexpected", self.unexpected)):
            if items:
                parts.append(f"{len(items)} {kind} ({_some([label(n) for n in items])})")
        if self.mismatched:
            shown = [f"{label(n)} expected {tuple(e)} found {tuple(f)}" for n, e, f in self.mismatched]
            parts.append(f"{len(shown)} with other shapes ({_some(shown)})")
        super().__init__(where, "tensors do not map: " + "; ".join(parts))


def _some(items, limit=4):
    head = ", ".join(map(str, items[:limit]))
    return head + (f", ... {len(items) - limit} more" if len(items) > limit else "")
