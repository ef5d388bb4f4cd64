"""Ratings and rankings to pairwise comparisons.

Pairs are only ever formed within one rater and one prompt: two people's
scores are not on a common scale, and answers to different prompts are not
alternatives to each other.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError
from .io import iter_records
from .records import FLOAT32_MAX, FieldReader, Located, rater_column_for
from .table import ANONYMOUS_RATER, ComparisonTable


def ratings_to_pairs(rows: Iterable[Located], *, source: str, rater_column: str | None = None,
                     keep_ties: bool = False, margin: bool = False) -> ComparisonTable:
    """Records (rater, text, score[, prompt]) -> every within-rater, within-prompt pair.

    Equal scores are dropped, or kept as ties when `keep_ties`. With `margin`, the
    score difference becomes the comparison's strength.
    """
    groups: dict[tuple[str, str], list[tuple[str, str, float]]] = defaultdict(list)
    rows = list(rows)
    column = rater_column_for(rows, rater_column, source=source)
    for where, record in rows:
        reader = FieldReader(record, source=source, where=where)
        key = (_rater(reader, column), reader.text("prompt", required=False))
        score = reader.number("score", default=float("nan"), minimum=float("-inf"), strict=False)
        if score != score:
            reader.fail("score", "missing required field")
        groups[key].append((where, reader.text("text"), score))
    pairs = []
    for (rater, prompt), items in groups.items():
        for (wa, ta, sa), (wb, tb, sb) in itertools.combinations(items, 2):
            if ta == tb or (sa == sb and not keep_ties):
                continue
            (wc, tc, sc), (wr, tr, sr) = ((wa, ta, sa), (wb, tb, sb)) if sa >= sb else \
                ((wb, tb, sb), (wa, ta, sa))
            strength = _margin(sc - sr, source, wc, wr) if margin else 0.0
            pairs.append(dict(rater=rater, prompt=prompt, chosen=tc, rejected=tr, tie=sa == sb,
                              strength=strength, id=f"{wc}>{wr}"))
    return _table(pairs, source)


def _margin(difference: float, source: str, better: str, worse: str) -> float:
    # Each score fits float32, their difference may not (3e38 - -3e38).
    if abs(difference) > FLOAT32_MAX:
        raise DataError(f"the score difference {difference:g} overflows float32, the precision "
                        "models compute in", source=source, where=f"{better} and {worse}",
                        field="score")
    return difference


def rankings_to_pairs(rows: Iterable[Located], *, source: str,
                      rater_column: str | None = None) -> ComparisonTable:
    """Records (rater, responses best first[, prompt]) -> every implied pair."""
    pairs = []
    rows = list(rows)
    column = rater_column_for(rows, rater_column, source=source)
    for where, record in rows:
        reader = FieldReader(record, source=source, where=where)
        rater, prompt = _rater(reader, column), reader.text("prompt", required=False)
        responses = _responses(reader)
        for (i, better), (j, worse) in itertools.combinations(enumerate(responses), 2):
            if better != worse:
                pairs.append(dict(rater=rater, prompt=prompt, chosen=better, rejected=worse,
                                  id=f"{where}:{i}>{j}"))
    return _table(pairs, source)


def read_ratings(path: str | Path, **options) -> ComparisonTable:
    return ratings_to_pairs(iter_records(path), source=str(path), **options)


def read_rankings(path: str | Path, **options) -> ComparisonTable:
    return rankings_to_pairs(iter_records(path), source=str(path), **options)


def _responses(reader: FieldReader) -> list[str]:
    responses = reader.required("responses")
    if not isinstance(responses, list) or len(responses) < 2 or \
            not all(isinstance(r, str) and r.strip() for r in responses):
        reader.fail("responses", "expected a list of at least two non-empty texts, best first")
    for response in responses:
        reader.check_unicode("responses", response)
    return responses


def _rater(reader: FieldReader, column: str | None) -> str:
    return reader.identifier(column) if column else ANONYMOUS_RATER


def _table(pairs: list[dict], source: str) -> ComparisonTable:
    if not pairs:
        raise DataError("no pairs could be formed (every rater needs two differently "
                        "judged responses to one prompt)", source=source)
    columns = {key: [p.get(key) for p in pairs] for key in pairs[0]}
    columns.setdefault("tie", [p.get("tie", False) for p in pairs])
    return ComparisonTable.from_columns(**columns)
