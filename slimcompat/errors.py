"""The one error base class: the CLI prints any of these as a single line."""

__all__ = ["SlimcompatError"]


class SlimcompatError(Exception):
    """An error the user can act on; its message is complete on one line."""
