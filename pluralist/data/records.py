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

from ..errors import DataError
from .table import ANONYMOUS_RATER, ComparisonTable

Located = tuple[str, Mapping]  # (where, e.g. "line 3", raw record)


class FieldReader:
    """Reads and validates the fields of one record; errors say where."""

    def __init__(self, record, *, source: str, where: str):
        if not isinstance(record, Mapping):
            raise DataError(f"expected an object, got {type(record).__name__}",
                            source=source, where=where)
        self.record, self.source, self.where = record, source, where

    def fail(self, field: str, problem: str):
        raise DataError(problem, source=self.source, where=self.where, field=field)

    def present(self, field: str) -> bool:
        value = self.record.get(field)
        return value is not None and not (isinstance(value, float) and math.isnan(value)) \
            and value != ""

    def required(self, field: str):
        if field not in self.record or self.record[field] is None:
            self.fail(field, "missing required field")
        return self.record[field]

    def text(self, field: str, *, required: bool = True, default: str = "") -> str:
        if not required and not self.present(field):
            return default
        value = self.required(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.fail(field, f"expected text, got {type(value).__name__}")
        if required and not value.strip():
            self.fail(field, "empty text")
        return value

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
        raw = self.record[field]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            self.fail(field, f"not a number: {raw!r}")
        if not math.isfinite(value):
            self.fail(field, f"not finite: {raw!r}")
        if value < minimum or (strict and value == minimum):
            self.fail(field, f"must be {'>' if strict else '>='} {minimum:g}, got {value:g}")
        return value

    def flag(self, field: str) -> bool:
        if not self.present(field):
            return False
        raw = self.record[field]
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "1.0"):
            return True
        if text in ("0", "false", "no", "0.0"):
            return False
        self.fail(field, f"not a boolean: {raw!r}")

    def flag_or_unknown(self, field: str) -> int:
        """1 or 0 for a boolean field, -1 when it is absent."""
        return int(self.flag(field)) if self.present(field) else -1

    def _check_message(self, field: str, message):
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str) \
                or not isinstance(message.get("content"), str):
            self.fail(field, "each message needs string 'role' and 'content'")


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
        "rater": reader.text(rater_column) if rater_column else ANONYMOUS_RATER,
        "prompt": render_messages(prompt),
        "chosen": chosen_text,
        "rejected": rejected_text,
        "tie": reader.flag("tie"),
        "strength": reader.number("strength" if reader.present("strength") else "margin",
                                  default=0.0, minimum=0.0, strict=False),
        "weight": reader.number("weight", default=1.0, minimum=0.0, strict=True),
        "group": reader.text("group", required=False),
        "id": reader.text("id", required=False, default=reader.where),
        "chosen_first": reader.flag_or_unknown("chosen_first"),
    }


def table_from_records(rows: Iterable[Located], *, source: str,
                       rater_column: str = "rater") -> ComparisonTable:
    """Validate every record. The first record decides whether a rater column exists:
    a file without one is a single anonymous population."""
    comparisons, column = [], None
    for index, (where, record) in enumerate(rows):
        reader = FieldReader(record, source=source, where=where)
        if index == 0:
            column = rater_column if rater_column in record else None
        comparisons.append(comparison_from_record(reader, column))
    if not comparisons:
        raise DataError("no comparisons (empty file)", source=source)
    return ComparisonTable.from_columns(**{k: [c[k] for c in comparisons] for k in comparisons[0]})
