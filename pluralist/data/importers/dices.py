"""DICES (Aroyo et al., 2023, "DICES Dataset: Diversity in Conversational AI Evaluation
for Safety", NeurIPS Datasets and Benchmarks).

A CSV, one rating a row: `rater_id`, the rater's demographics (`rater_gender`,
`rater_race`, `rater_age`, `rater_education`, in DICES-990 also `rater_locale`),
`item_id`, `context` (the conversation so far), `response` (the chatbot's last turn)
and `Q_overall`, the rater's answer to whether the conversation is unsafe: 'Yes',
'No' or 'Unsure'. The ratings are pointwise; pairs are formed within a rater (two
people's answers are not on one scale): of two conversations the rater judged
differently, the safer one is chosen ('No' over 'Unsure' over 'Yes'). Each
conversation answers a different context, so the compared text is the whole
conversation and the prompt is empty.
"""

from __future__ import annotations

from pathlib import Path

from ..convert import ratings_to_pairs
from ..io import iter_records
from ..records import FieldReader, Located
from ..table import ComparisonTable
from ._common import cap_per_rater, group_fields, identifier, RaterGroups

# Safer is better: the question asks whether the conversation is unsafe.
SAFETY = {"no": 2.0, "unsure": 1.0, "yes": 0.0}
DEFAULT_GROUP = "rater_race"


def import_dices(src: str | Path, *, group: str | None = DEFAULT_GROUP,
                 keep_ties: bool = False, max_pairs_per_rater: int | None = None,
                 seed: int = 0) -> ComparisonTable:
    """DICES-350 or DICES-990's CSV as within-rater comparisons.

    `group`: rater columns that make a rater's group, joined by '+'
    ('rater_gender+rater_race'); None for none. `keep_ties`: equal answers become ties.
    `max_pairs_per_rater`: a rater who answered n items gives up to n(n-1)/2 pairs; keep
    at most this many a rater, drawn with `seed`."""
    groups, source = RaterGroups(group_fields(group)), str(src)
    ratings = [_rating(where, record, source, groups) for where, record in iter_records(src)]
    table = ratings_to_pairs(ratings, source=source, keep_ties=keep_ties)
    return groups.attach(cap_per_rater(table, max_pairs_per_rater, seed))


def _rating(where: str, record, source: str, groups: RaterGroups) -> Located:
    reader = FieldReader(record, source=source, where=where)
    rater = identifier(reader, "rater_id")
    groups.note(reader, rater)
    context, response = reader.text("context", required=False), reader.text("response")
    answer = reader.text("Q_overall")
    if answer.strip().lower() not in SAFETY:
        reader.fail("Q_overall", f"expected Yes, No or Unsure, got {answer!r}")
    text = f"{context.rstrip()}\n{response}" if context.strip() else response
    return where, {"rater": rater, "text": text, "score": SAFETY[answer.strip().lower()]}
