"""Strict conversion of stored values into typed fields.

SQLite columns are loosely typed; a damaged or hand-edited database could hold a string where a
blob belongs. Every repository turns raw tuples into dataclasses through these helpers, so such a
row raises MalformedRow naming the table and column instead of failing somewhere later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from parley.app.store.errors import MalformedRow

T = TypeVar("T", bound=str)


class RowReader:
    """Reads the columns of one row in order, checking each one's type."""

    def __init__(self, table: str, row: Sequence[Any], columns: Sequence[str]) -> None:
        if len(row) != len(columns):
            raise MalformedRow(f"A {table} row has {len(row)} columns, expected {len(columns)}.")
        self._table = table
        self._values = dict(zip(columns, row, strict=True))

    def _bad(self, column: str, what: str) -> MalformedRow:
        return MalformedRow(f"Stored {self._table}.{column} is not {what}; the row is damaged.")

    def blob(self, column: str, size: int | None = None) -> bytes:
        value = self._values[column]
        if not isinstance(value, bytes) or (size is not None and len(value) != size):
            raise self._bad(column, f"{size}-byte data" if size else "binary data")
        return value

    def text(self, column: str) -> str:
        value = self._values[column]
        if not isinstance(value, str):
            raise self._bad(column, "text")
        return value

    def integer(self, column: str, minimum: int = 0) -> int:
        value = self._values[column]
        if type(value) is not int or value < minimum:
            raise self._bad(column, f"an integer >= {minimum}")
        return value

    def real(self, column: str) -> float:
        value = self._values[column]
        if type(value) not in (int, float):
            raise self._bad(column, "a number")
        return float(value)

    def opt_real(self, column: str) -> float | None:
        return None if self._values[column] is None else self.real(column)

    def opt_text(self, column: str) -> str | None:
        return None if self._values[column] is None else self.text(column)

    def flag(self, column: str) -> bool:
        value = self._values[column]
        if value not in (0, 1) or type(value) is not int:
            raise self._bad(column, "0 or 1")
        return bool(value)

    def choice(self, column: str, allowed: tuple[T, ...]) -> T:
        value = self._values[column]
        for option in allowed:
            if value == option:
                return option
        raise self._bad(column, f"one of {', '.join(allowed)}")
