"""What the importers share: option errors, ids, rater groups, TSV lines, pair tables.

Every problem with a source file is one DataError naming the file, the line or row
and the field, worded as the readers in ..records and ..io word theirs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from ...errors import DataError, PluralistError
from ..io import decode_text, read_bytes
from ..records import FieldReader, Located
from ..table import ComparisonTable


class OptionError(PluralistError, ValueError):
    """An importer asked for by a name it does not have, or an option it does not take
    (a ValueError too, so that Python callers may catch it as one)."""


# --- fields ------------------------------------------------------------------------

def identifier(reader: FieldReader, field: str) -> str:
    """An id: text, or a whole number (ids are often numbered; Parquet may hold 12.0)."""
    value = reader.required(field)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        reader.fail(field, f"expected an id (text or a whole number), got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        reader.fail(field, "empty id")
    return text


def nested_text(reader: FieldReader, container, key: str, field: str, *,
                required: bool = True) -> str:
    """Text inside a nested object; `field` names it in errors ('info.post')."""
    value = container.get(key) if isinstance(container, Mapping) else None
    if value is None or value == "":
        if required:
            reader.fail(field, "missing required field" if value is None else "empty text")
        return ""
    if not isinstance(value, str):
        reader.fail(field, f"expected text, got {type(value).__name__}")
    if required and not value.strip():
        reader.fail(field, "empty text")
    return value


def nested_list(reader: FieldReader, field: str) -> list:
    value = reader.required(field)
    if not isinstance(value, list):
        reader.fail(field, f"expected a list, got {type(value).__name__}")
    return value


# --- rater groups ------------------------------------------------------------------

def group_fields(group) -> list[str]:
    """The `group` option: attribute names joined by '+' (dotted for nested ones,
    'location.reside_region'); None or '' for no groups."""
    if group is None or group == "":
        return []
    if not isinstance(group, str):
        raise OptionError(f"option 'group' must be attribute names joined by '+', got {group!r}")
    fields = [name.strip() for name in group.split("+")]
    if not all(fields):
        raise OptionError(f"option 'group' {group!r} names an empty attribute")
    return fields


def _attribute(record: Mapping, path: str) -> str:
    value = record
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None or isinstance(value, (Mapping, list)) or \
            (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


class RaterGroups:
    """Each rater's group, from rater attributes; a rater must keep one group."""

    def __init__(self, fields: list[str]):
        self.fields, self.of = fields, {}

    def note(self, reader: FieldReader, rater: str) -> None:
        if not self.fields:
            return
        for name in self.fields:
            if name.split(".")[0] not in reader.record:
                reader.fail(name, "missing required field (named by the group option)")
        parts = [_attribute(reader.record, name) for name in self.fields]
        value = " / ".join(p or "unknown" for p in parts) if any(parts) else ""
        earlier = self.of.setdefault(rater, value)
        if earlier != value:
            reader.fail("+".join(self.fields), f"rater {rater!r} is in group {earlier!r} "
                                               f"in an earlier row, {value!r} here")

    def attach(self, table: ComparisonTable) -> ComparisonTable:
        return attach_groups(table, self.of)


def attach_groups(table: ComparisonTable, groups: Mapping[str, str]) -> ComparisonTable:
    """The table with each row's group set from its rater ('' for raters without one)."""
    if not groups:
        return table
    column = np.empty(len(table), dtype=object)
    column[:] = [groups.get(rater, "") for rater in table.rater.tolist()]
    return ComparisonTable(**{**table.columns(), "group": column})


# --- tables ------------------------------------------------------------------------

def pair(rater: str, prompt: str, chosen: str, rejected: str, id: str, *,
         tie: bool = False) -> dict:
    return dict(rater=rater, prompt=prompt, chosen=chosen, rejected=rejected, tie=tie, id=id)


def pair_table(pairs: list[dict], source: str) -> ComparisonTable:
    if not pairs:
        raise DataError("no comparisons could be formed", source=source)
    return ComparisonTable.from_columns(**{key: [p[key] for p in pairs] for key in pairs[0]})


def cap_per_rater(table: ComparisonTable, cap: int | None, seed: int) -> ComparisonTable:
    """At most `cap` comparisons a rater, drawn at random (seeded), kept in file order."""
    if cap is None:
        return table
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise OptionError(f"option 'max_pairs_per_rater' must be a whole number >= 1, got {cap!r}")
    rng = np.random.default_rng(seed)
    keep = [rows if len(rows) <= cap else rng.choice(rows, cap, replace=False)
            for rows in table.rows_by_rater().values()]
    return table.take(np.sort(np.concatenate(keep)))


def check_positive(name: str, value, *, whole: bool = False) -> None:
    kind = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:   # NaN too
        raise OptionError(f"option {name!r} must be a {'whole ' if whole else ''}number > 0, "
                          f"got {value!r}")


# --- files -------------------------------------------------------------------------

def read_text(path: Path) -> str:
    """A whole UTF-8 file (gzip-compressed when it ends in .gz); located errors, as the
    comparison readers give them."""
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    return decode_text(read_bytes(path), path)


def iter_tsv(path: str | Path) -> Iterator[Located]:
    """(where, record) for each line of a tab-separated file under a header line. No
    quoting: the WMT files hold quote marks in their texts as they are. A line short
    of trailing fields (an empty last column dropped) is padded with empty ones."""
    path = Path(path)
    lines = read_text(path).split("\n")
    header = lines[0].rstrip("\r").split("\t")
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        values = line.split("\t")
        if len(values) > len(header):
            raise DataError(f"{len(values)} tab-separated fields, the header has {len(header)}",
                            source=str(path), where=f"line {number}")
        yield f"line {number}", dict(zip(header, values + [""] * (len(header) - len(values))))
