"""Errors a user can act on: each is one line that says where the problem is."""

from __future__ import annotations


class PluralistError(Exception):
    """Base class. The CLI prints these as one line and exits with code 2."""


class DataError(PluralistError):
    """Bad input data, located by file, line or row, and field."""

    def __init__(self, problem: str, *, source: str | None = None,
                 where: str | None = None, field: str | None = None):
        self.problem, self.source, self.where, self.field = problem, source, where, field
        super().__init__(_locate(problem, source, where, field))


class EncoderError(PluralistError):
    """An encoder that cannot be built or used."""


class ModelError(PluralistError):
    """A model that cannot be trained, loaded or used as asked."""


def _locate(problem: str, source: str | None, where: str | None, field: str | None) -> str:
    parts = [p for p in (source, where) if p]
    if field:
        parts.append(f"field '{field}'")
    prefix = ": ".join(parts)
    return f"{prefix}: {problem}" if prefix else problem
