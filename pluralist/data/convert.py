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
from .records import FieldReader, Located
from .table import ANONYMOUS_RATER, ComparisonTable


def ratings_to_pairs(rows: Iterable[Located], *, source: str, rater_column: str = "rater",
                     keep_ties: bool = False, margin: bool = False) -> ComparisonTable:
    """Records (rater, text, score[, prompt]) -> every within-rater, within-prompt pair.

    Equal scores are dropped, or kept as ties when `keep_ties`. With `margin`, the
    score difference becomes the comparison's strength.
    """
    groups: dict[tuple[str, str], list[tuple[str, str, float]]] = defaultdict(list)
    for where, record in rows:
        reader = FieldReader(record, source=source, where=where)
        key = (_rater(reader, rater_column), reader.text("prompt", required=False))
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
            pairs.append(dict(rater=rater, prompt=prompt, chosen=tc, rejected=tr, tie=sa == sb,
                              strength=(sc - sr) if margin else 0.0, id=f"{wc}>{wr}"))
    return _table(pairs, source)


def rankings_to_pairs(rows: Iterable[Located], *, source: str,
                      rater_column: str = "rater") -> ComparisonTable:
    """Records (rater, responses best first[, prompt]) -> every implied pair."""
    pairs = []
    for where, record in rows:
        reader = FieldReader(record, source=source, where=where)
        rater, prompt = _rater(reader, rater_column), reader.text("prompt", required=False)
        responses = reader.required("responses")
        if not isinstance(responses, list) or len(responses) < 2 or \
                not all(isinstance(r, str) and r.strip() for r in responses):
            reader.fail("responses", "expected a list of at least two non-empty texts, best first")
        for (i, better), (j, worse) in itertools.combinations(enumerate(responses), 2):
            if better != worse:
                pairs.append(dict(rater=rater, prompt=prompt, chosen=better, rejected=worse,
                                  id=f"{where}:{i}>{j}"))
    return _table(pairs, source)


def read_ratings(path: str | Path, **options) -> ComparisonTable:
    return ratings_to_pairs(iter_records(path), source=str(path), **options)


def read_rankings(path: str | Path, **options) -> ComparisonTable:
    return rankings_to_pairs(iter_records(path), source=str(path), **options)


def _rater(reader: FieldReader, rater_column: str) -> str:
    return reader.text(rater_column) if rater_column in reader.record else ANONYMOUS_RATER


def _table(pairs: list[dict], source: str) -> ComparisonTable:
    if not pairs:
        raise DataError("no pairs could be formed (every rater needs two differently "
                        "judged responses to one prompt)", source=source)
    columns = {key: [p.get(key) for p in pairs] for key in pairs[0]}
    columns.setdefault("tie", [p.get("tie", False) for p in pairs])
    return ComparisonTable.from_columns(**columns)
