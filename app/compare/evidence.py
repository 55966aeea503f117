"""Evidence records: every claim of the report points to one file written by the step that saw it.

A record is a JSON file under ``evidence/`` named ``NNN-slug.json``; a :class:`Cell` is one result
shown in a table (what happened, in plain words) with the record it came from. A part of the run
that could not be done is a cell too ("not run: <reason>"), never a blank or a bare tick.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["opened", "refused", "delivered", "rejected", "shown", "not run", "n/a"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One result of the run: its outcome, a sentence, and the evidence file (relative path)."""

    outcome: Outcome
    text: str
    evidence: str | None = None

    @property
    def label(self) -> str:
        return f"{self.outcome}: {self.text}" if self.text else self.outcome


def not_run(reason: str) -> Cell:
    return Cell("not run", reason)


class Evidence:
    """Writes numbered evidence records into ``root/evidence``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "evidence"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def record(self, slug: str, data: dict[str, Any]) -> str:
        """Write one record; return its path relative to the report."""
        self._count += 1
        name = f"{self._count:03d}-{re.sub(r'[^a-z0-9]+', '-', slug.lower()).strip('-')}.json"
        path = self.folder / name
        path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", "utf-8")
        return f"evidence/{name}"

    def cell(self, outcome: Outcome, text: str, slug: str, data: dict[str, Any]) -> Cell:
        """A result and its record in one go (the record repeats the result it supports)."""
        ref = self.record(slug, {"outcome": outcome, "result": text, **data})
        return Cell(outcome, text, ref)
