"""Any ratings or rankings file, by column mapping.

`map` names the file's columns for pluralist's fields, e.g.
`rater=user_id,text=comment,score=offensiveness,group=gender` for a POPQUORN-style CSV
(Pei and Jurgens, 2023, "When Do Annotator Demographics Matter? Measuring the
Influence of Annotator Demographics with the POPQUORN Dataset", LAW workshop) or the
politeness corpora's per-annotator ratings (Danescu-Niculescu-Mizil et al., 2013, "A
computational approach to politeness with application to social factors", ACL).
Fields left out of the map are read under their own names. The pairs are made by
..convert, within one rater and one prompt; `group` is a rater attribute (several
columns joined by '+' make one group: `group=gender+age`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from ...errors import DataError
from ..convert import rankings_to_pairs, ratings_to_pairs
from ..io import iter_records
from ..records import FieldReader, Located
from ..table import ANONYMOUS_RATER, ComparisonTable
from ._common import group_fields, identifier, OptionError, RaterGroups

RATING_FIELDS = ("rater", "prompt", "text", "score", "group")
RANKING_FIELDS = ("rater", "prompt", "responses", "group")


def import_ratings(src: str | Path, *, map: str | Mapping | None = None,
                   keep_ties: bool = False, margin: bool = False,
                   lower_is_better: bool = False) -> ComparisonTable:
    """A ratings file (rater, text, score[, prompt][, group]) as within-rater pairs.

    `keep_ties`: equal scores become ties. `margin`: the score difference becomes the
    strength. `lower_is_better`: the lower score is chosen (error counts, offensiveness)."""
    mapping = parse_map(map, RATING_FIELDS, "ratings")
    groups = RaterGroups(group_fields(mapping.get("group")))
    rows = _renamed(src, mapping, groups, lower_is_better)
    with _columns_named(mapping):
        table = ratings_to_pairs(rows, source=str(src), keep_ties=keep_ties, margin=margin)
    return groups.attach(table)


def import_rankings(src: str | Path, *, map: str | Mapping | None = None) -> ComparisonTable:
    """A rankings file (rater, responses best first[, prompt][, group]) as pairs.

    `responses` maps to one column holding a list (in CSV, a JSON list), or to several
    columns joined by '|', best first: `responses=first|second|third`."""
    mapping = parse_map(map, RANKING_FIELDS, "rankings")
    groups = RaterGroups(group_fields(mapping.get("group")))
    rows = _renamed(src, mapping, groups, False)
    with _columns_named(mapping):
        table = rankings_to_pairs(rows, source=str(src))
    return groups.attach(table)


def parse_map(mapping, fields: tuple[str, ...], name: str) -> dict[str, str]:
    """'rater=user_id,text=comment' (or a dict) -> {pluralist's field: the file's column}."""
    if mapping is None or mapping == "":
        return {}
    if isinstance(mapping, str):
        entries = [entry.partition("=") for entry in mapping.split(",") if entry.strip()]
        if any(not sep or not column.strip() for _, sep, column in entries):
            raise OptionError(f"{name}: option 'map' takes field=column pairs joined by ',', "
                              f"got {mapping!r}")
        mapping = {field.strip(): column.strip() for field, _, column in entries}
    if not isinstance(mapping, Mapping):
        raise OptionError(f"{name}: option 'map' must be text or a dict, got {mapping!r}")
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        raise OptionError(f"{name}: option 'map' names unknown field(s) {', '.join(unknown)} "
                          f"(known: {', '.join(fields)})")
    return {str(k): str(v) for k, v in mapping.items()}


def _renamed(src, mapping: dict[str, str], groups: RaterGroups,
             lower_is_better: bool) -> Iterator[Located]:
    """The file's records under pluralist's names (a mapped field replaces a column of
    that name), each rater's group noted, scores negated where lower is better."""
    for index, (where, record) in enumerate(iter_records(src)):
        reader = FieldReader(record, source=str(src), where=where)
        if index == 0 and not groups.fields and "group" in record:
            groups.fields = ["group"]   # unmapped, a column named 'group' is used if there
        out = {key: value for key, value in record.items() if key not in mapping}
        for field, column in mapping.items():
            if field == "responses" and "|" in column:
                out[field] = _listed(reader, column.split("|"))
            elif column in record:
                out[field] = record[column]
        if isinstance(out.get("responses"), str) and out["responses"].lstrip().startswith("["):
            out["responses"] = _json_list(reader, mapping.get("responses", "responses"),
                                          out["responses"])
        if "rater" in mapping or "rater" in record:
            out["rater"] = identifier(reader, mapping.get("rater", "rater"))
        groups.note(reader, out.get("rater", ANONYMOUS_RATER))
        if lower_is_better:
            _negate(reader, out, mapping.get("score", "score"))
        yield where, out


def _listed(reader: FieldReader, columns: list[str]) -> list:
    for column in columns:
        if column not in reader.record:
            reader.fail(column, "missing required field")
    return [reader.record[c] for c in columns if reader.present(c)]


def _json_list(reader: FieldReader, column: str, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        reader.fail(column, f"not a JSON list ({err.msg} at column {err.colno})")


def _negate(reader: FieldReader, out: dict, column: str) -> None:
    if column in reader.record:
        score = reader.number(column, default=float("nan"), minimum=float("-inf"), strict=False)
        out["score"] = -score if score == score else out.get("score")


@contextlib.contextmanager
def _columns_named(mapping: dict[str, str]):
    """Errors raised while converting renamed records name the file's own columns."""
    try:
        yield
    except DataError as err:
        if err.field not in mapping:
            raise
        raise DataError(err.problem, source=err.source, where=err.where,
                        field=mapping[err.field]) from None
