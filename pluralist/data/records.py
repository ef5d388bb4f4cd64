"""Turn raw records (dicts from any reader) into a validated ComparisonTable.

Accepts TRL's preference formats: standard (prompt/chosen/rejected strings),
implicit prompt (chosen/rejected only) and conversational (lists of
{"role", "content"} messages), plus a rater column and the optional columns
of ComparisonTable (`chosen_first`: whether the chosen response was shown
first). Every problem raises DataError naming source, row, field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from ..errors import DataError
from .table import ANONYMOUS_RATER, ComparisonTable

Located = tuple[str, Mapping]  # (where, e.g. "line 3", raw record)


# Models compute in float32: a value finite in float64 can still overflow there.
FLOAT32_MAX = float(np.finfo(np.float32).max)
DEFAULT_RATER_COLUMN = "rater"


class FieldReader:
    """Reads and validates the fields of one record; errors say where.

    One rule for every reader: texts must be strings (ids may also be integers),
    numbers must be finite numbers (or, as CSV writes them, their decimal text)."""

    def __init__(self, record, *, source: str, where: str):
        if not isinstance(record, Mapping):
            raise DataError(f"expected an object, got {type(record).__name__}",
                            source=source, where=where)
        self.record, self.source, self.where = record, source, where

    def fail(self, field: str, problem: str):
        raise DataError(problem, source=self.source, where=self.where, field=field)

    def present(self, field: str) -> bool:
        # Absent: no key, null, or an empty CSV cell. NaN is a value, refused where read.
        value = self.record.get(field)
        return value is not None and not (isinstance(value, str) and value == "")

    def required(self, field: str):
        if field not in self.record or self.record[field] is None:
            self.fail(field, "missing required field")
        return self.record[field]

    def text(self, field: str, *, required: bool = True, default: str = "") -> str:
        if not required and not self.present(field):
            return default
        value = self.required(field)
        if not isinstance(value, str):
            self.fail(field, f"expected text, got {_describe(value)}")
        self.check_unicode(field, value)
        if required and not value.strip():
            self.fail(field, "empty text")
        return value

    def identifier(self, field: str, *, required: bool = True, default: str = "") -> str:
        """Rater ids, row ids, groups: text, or an integer (ids are often numbered)."""
        if self.present(field) and _is_integer(self.record[field]):
            return str(self.record[field])
        return self.text(field, required=required, default=default)

    def text_or_messages(self, field: str, *, required: bool = True):
        """A string, or a list of chat messages (kept as list for prefix splitting)."""
        if not required and not self.present(field):
            return ""
        value = self.required(field)
        if isinstance(value, list):
            if not value:
                self.fail(field, "empty message list")
            for message in value:
                self._check_message(field, message)
            return value
        return self.text(field)

    def number(self, field: str, *, default: float, minimum: float, strict: bool) -> float:
        if not self.present(field):
            return default
        value = self.finite(field, self.record[field])
        single = float(np.float32(value))  # 1e-50 > 0, but it is 0 in float32
        if min(value, single) < minimum or (strict and minimum in (value, single)):
            self.fail(field, f"must be {'>' if strict else '>='} {minimum:g} "
                             f"(also in float32), got {value:g}")
        return value

    def finite(self, field: str, raw) -> float:
        """`raw` as a float that is finite in float32, or a located error."""
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            self.fail(field, f"not a number: {_describe(raw)}")
        try:
            value = float(raw)
        except (ValueError, OverflowError):   # OverflowError: an integer beyond float range
            self.fail(field, f"not a number: {_shorten(raw)!r}")
        if not math.isfinite(value):
            self.fail(field, f"not finite: {_shorten(raw)!r}")
        if abs(value) > FLOAT32_MAX:
            self.fail(field, f"too large: {value:g} overflows float32, the precision "
                             "models compute in")
        return value

    def flag(self, field: str) -> bool:
        if not self.present(field):
            return False
        raw = self.record[field]
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower() if isinstance(raw, (int, float, str)) else ""
        if text in ("1", "true", "yes", "1.0"):
            return True
        if text in ("0", "false", "no", "0.0"):
            return False
        self.fail(field, f"not a boolean: {_shorten(raw)!r}")

    def flag_or_unknown(self, field: str) -> int:
        """1 or 0 for a boolean field, -1 when it is absent."""
        return int(self.flag(field)) if self.present(field) else -1

    def _check_message(self, field: str, message):
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str) \
                or not isinstance(message.get("content"), str):
            self.fail(field, "each message needs string 'role' and 'content'")
        self.check_unicode(field, message["role"])
        self.check_unicode(field, message["content"])

    def check_unicode(self, field: str, value: str) -> None:
        # JSON can spell a lone surrogate (\ud800); no file can hold one in UTF-8.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            self.fail(field, f"not valid Unicode (a lone surrogate at character {err.start + 1})")


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shorten(value, limit: int = 40):
    """A value for an error message: long texts cut, so the message stays one short line."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(value) -> str:
    if isinstance(value, (bool, int, float)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def render_messages(messages) -> str:
    """Deterministic text for a chat: one 'role: content' line block per message."""
    if isinstance(messages, str):
        return messages
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def split_shared_prefix(chosen: list, rejected: list) -> tuple[list, list, list]:
    """Implicit-prompt conversations: the messages both share are the prompt."""
    n = 0
    while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
        n += 1
    return chosen[:n], chosen[n:], rejected[n:]


def comparison_from_record(reader: FieldReader, rater_column: str | None) -> dict:
    chosen = reader.text_or_messages("chosen")
    rejected = reader.text_or_messages("rejected")
    prompt = reader.text_or_messages("prompt", required=False)
    if not prompt and isinstance(chosen, list) and isinstance(rejected, list):
        prompt, chosen, rejected = split_shared_prefix(chosen, rejected)
    chosen_text, rejected_text = render_messages(chosen), render_messages(rejected)
    if chosen_text == rejected_text:
        reader.fail("rejected", "same text as chosen")
    return {
        "rater": reader.identifier(rater_column) if rater_column else ANONYMOUS_RATER,
        "prompt": render_messages(prompt),
        "chosen": chosen_text,
        "rejected": rejected_text,
        "tie": reader.flag("tie"),
        "strength": reader.number("strength" if reader.present("strength") else "margin",
                                  default=0.0, minimum=0.0, strict=False),
        "weight": reader.number("weight", default=1.0, minimum=0.0, strict=True),
        "group": reader.identifier("group", required=False),
        "id": reader.identifier("id", required=False, default=reader.where),
        "chosen_first": reader.flag_or_unknown("chosen_first"),
    }


def rater_column_for(rows: list[Located], rater_column: str | None, *, source: str
                     ) -> str | None:
    """The column of rater ids, or None for one anonymous population. `rater_column`
    None means the default, used when any row has it; a column named explicitly must
    be in some row. Either way every row must then have it (a required field)."""
    name = rater_column or DEFAULT_RATER_COLUMN
    if any(isinstance(record, Mapping) and name in record for _, record in rows):
        return name
    if rater_column is None:
        return None
    columns = dict.fromkeys(k for _, record in rows if isinstance(record, Mapping) for k in record)
    raise DataError(f"no row has the rater column {name!r}; the columns are "
                    + (", ".join(repr(str(c)) for c in columns) or "none"), source=source)


def table_from_records(rows: Iterable[Located], *, source: str,
                       rater_column: str | None = None) -> ComparisonTable:
    """Validate every record (see `rater_column_for` for the rater column)."""
    rows = list(rows)
    if not rows:
        raise DataError("no comparisons (empty file)", source=source)
    column = rater_column_for(rows, rater_column, source=source)
    comparisons = [comparison_from_record(FieldReader(record, source=source, where=where), column)
                   for where, record in rows]
    return ComparisonTable.from_columns(**{k: [c[k] for c in comparisons] for k in comparisons[0]})
