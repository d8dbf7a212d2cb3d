"""What `slimcompat migrate` did, one line per change, warning or error.

Lines read like tf_upgrade_v2's (`file:line:col: LEVEL: message`), so editors
and CI can jump to them; positions are in the original file. A file counts as
changed only if its text changed, and its INFO lines are its changes, so
migrating migrated output reports 0 changes.
"""

import dataclasses
from typing import List, Optional

__all__ = ["Entry", "FileResult", "Report", "INFO", "WARNING", "ERROR"]

INFO, WARNING, ERROR = "INFO", "WARNING", "ERROR"


@dataclasses.dataclass
class Entry:
    path: str
    line: int
    col: int
    level: str
    message: str

    def __str__(self):
        return f"{self.path}:{self.line}:{self.col}: {self.level}: {self.message}"


@dataclasses.dataclass
class FileResult:
    """One input file: where it went and what happened to it.

    status: "changed", "unchanged", "copied" (not Python) or "failed".
    """

    source: str
    destination: str
    status: str
    entries: List[Entry] = dataclasses.field(default_factory=list)
    backup: Optional[str] = None

    @property
    def changes(self):
        if self.status != "changed":
            return []
        return [e for e in self.entries if e.level == INFO]

    def outcome(self):
        """A line saying where a changed file went, else None."""
        if self.status != "changed":
            return None
        if self.source != self.destination:
            return f"{self.source}: migrated to {self.destination}"
        kept = f", original kept as {self.backup}" if self.backup else ""
        return f"{self.source}: migrated in place{kept}"


@dataclasses.dataclass
class Report:
    files: List[FileResult] = dataclasses.field(default_factory=list)

    def entries(self, level=None):
        return [e for f in self.files for e in f.entries if level is None or e.level == level]

    @property
    def changes(self):
        return [e for f in self.files for e in f.changes]

    @property
    def errors(self):
        return self.entries(ERROR)

    @property
    def warnings(self):
        return self.entries(WARNING)

    @property
    def exit_code(self):
        return 1 if self.errors else 0

    def format(self):
        lines = []
        for result in self.files:
            shown = result.entries if result.status == "changed" else \
                [e for e in result.entries if e.level != INFO]
            lines += [str(e) for e in shown]
            outcome = result.outcome()
            if outcome:
                lines.append(outcome)
        python = [f for f in self.files if f.status != "copied"]
        count = {s: sum(f.status == s for f in python) for s in ("changed", "unchanged", "failed")}
        lines.append(
            f"slimcompat migrate: {len(python)} Python file(s): {count['changed']} changed, "
            f"{count['unchanged']} unchanged, {count['failed']} failed; "
            f"{len(self.changes)} change(s), {len(self.warnings)} warning(s), "
            f"{len(self.errors)} error(s)")
        return "\n".join(lines)
