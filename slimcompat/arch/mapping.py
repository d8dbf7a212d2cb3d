"""The all-or-nothing check every load goes through before its first assignment: every tensor mapped
exactly once, shapes equal, both ways."""

from slimcompat.errors import MappingError

__all__ = ["check_mapping"]


def check_mapping(expected, found, where, label=str):
    """Raise MappingError unless `found` has exactly `expected`'s names and shapes.

    expected, found: {name: shape}. `where` names the file or model, for the message.
    label(name): how the message shows a name (the user's file's name first, the canonical one after).
    """
    missing = [n for n in expected if n not in found]
    unexpected = [n for n in found if n not in expected]
    mismatched = [(n, tuple(expected[n]), tuple(found[n])) for n in expected
                  if n in found and tuple(expected[n]) != tuple(found[n])]
    if missing or unexpected or mismatched:
        raise MappingError(where, missing, unexpected, mismatched, label=label)
