"""WMT MQM annotations (Freitag et al., 2021, "Experts, Errors, and Context: A
Large-Scale Study of Human Evaluation for Machine Translation", TACL).

A tab-separated file under a header, one marked error a line (a line with category
and severity 'No-error' for a translation without errors): `system`, the segment
(`globalSegId` in the newer files, `seg_id` in the older ones; `doc` where present),
`rater`, `source`, `target` (error spans marked with <v>...</v>), `category`,
`severity`. Each rater's translation of a segment by a system is scored minus its
error-weighted penalty, with the paper's weights: Major 5, Minor 1, a Minor
Fluency/Punctuation error 0.1, Non-translation 25, Neutral 0. A unit holding an
attention check (severity 'HOTW-test': an error injected on purpose, to keep raters
on task) is dropped: its target is not the system's translation. Pairs are formed
within one rater and one segment, where the scores rank the systems.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import DataError
from ..convert import ratings_to_pairs
from ..records import FieldReader
from ..table import ComparisonTable
from ._common import iter_tsv

COLUMNS = ("system", "rater", "source", "target", "category", "severity")
SEGMENT_COLUMNS = ("globalSegId", "seg_id")
SEVERITY_WEIGHTS = {"major": 5.0, "minor": 1.0, "neutral": 0.0, "no-error": 0.0}
NON_TRANSLATION_WEIGHT = 25.0
PUNCTUATION_WEIGHT = 0.1
ATTENTION_CHECK = "hotw-test"
_SPAN = re.compile(r"</?v>")


def import_mqm(src: str | Path, *, keep_ties: bool = False,
               margin: bool = False) -> ComparisonTable:
    """An MQM TSV (.tsv, or .tsv.gz) as within-rater, within-segment comparisons.

    `keep_ties`: translations with equal scores become ties (common: two error-free
    ones). `margin`: the score difference becomes the comparison's strength."""
    source = str(src)
    units = _units(iter_tsv(src), source)
    ratings = [(u["where"], {"rater": u["rater"], "prompt": u["source"], "text": u["target"],
                             "score": -u["penalty"]})
               for u in units.values() if not u["attention_check"]]
    if not ratings:
        raise DataError("no rated translations (every line was segment metadata or an "
                        "attention check)", source=source)
    # Grouped by rater and source text: a repeated source sentence is another segment
    # with the same alternatives, so comparing across the two is still within a segment.
    return ratings_to_pairs(ratings, source=source, keep_ties=keep_ties, margin=margin)


def _units(rows, source: str) -> dict[tuple, dict]:
    """(rater, segment, system) -> its first line, texts, penalty, attention check."""
    units, segment_column = {}, None
    for where, record in rows:
        reader = FieldReader(record, source=source, where=where)
        if segment_column is None:
            segment_column = _check_header(record, source)
        rater = record["rater"].strip()
        if not rater:
            continue   # a line of segment metadata (references, metrics), no rating
        key = (rater, record.get("doc", ""), reader.text(segment_column), reader.text("system"))
        unit = units.setdefault(key, {
            "where": where, "rater": rater, "penalty": 0.0, "attention_check": False,
            "source": _SPAN.sub("", reader.text("source")),
            "target": _SPAN.sub("", reader.text("target"))})
        weight = error_weight(reader)
        if weight is None:
            unit["attention_check"] = True
        else:
            unit["penalty"] += weight
    return units


def _check_header(record, source: str) -> str:
    for column in COLUMNS:
        if column not in record:
            raise DataError("missing column", source=source, where="line 1", field=column)
    for column in SEGMENT_COLUMNS:
        if column in record:
            return column
    raise DataError("missing column (globalSegId or seg_id names the segment)",
                    source=source, where="line 1", field="globalSegId")


def error_weight(reader: FieldReader) -> float | None:
    """One marked error's weight; None for an attention-check line."""
    raw = reader.text("severity")
    severity = raw.strip().lower().replace("_", "-").replace(" ", "-")
    if severity == ATTENTION_CHECK:
        return None
    if severity not in SEVERITY_WEIGHTS:
        reader.fail("severity", f"expected Major, Minor, Neutral, No-error or HOTW-test, "
                                f"got {raw!r}")
    category = reader.text("category", required=False).strip().lower().replace(" ", "")
    if severity in ("major", "minor") and re.search(r"non.?translation", category):
        return NON_TRANSLATION_WEIGHT
    if severity == "minor" and category.startswith("fluency/punctuation"):
        return PUNCTUATION_WEIGHT
    return SEVERITY_WEIGHTS[severity]
