"""Community Alignment (Zhang et al., 2025, "Cultivating Pluralism in Algorithmic
Monoculture: The Community Alignment Dataset", arXiv:2507.09650).

A CSV, one conversation a row: `annotator_id`, `conversation_id`, the annotator's
attributes (`annotator_country`, `annotator_age`, ...), and for each of up to four
turns (`first`, `second`, `third`, `fourth`) `<turn>_turn_prompt`, the candidate
responses `<turn>_turn_response_a` to `_d` (later turns may hold fewer) and
`<turn>_turn_preferred_response` ('response_a' ... 'response_d'). The preferred
response is compared with each other candidate of its turn; the prompt is the
dialogue so far, the preferred responses of earlier turns included.
"""

from __future__ import annotations

from pathlib import Path

from ..io import iter_records
from ..records import FieldReader, render_messages
from ..table import ComparisonTable
from ._common import group_fields, identifier, pair, pair_table, RaterGroups

TURNS = ("first", "second", "third", "fourth")
LETTERS = "abcd"
DEFAULT_GROUP = "annotator_country"


def import_community_alignment(src: str | Path, *,
                               group: str | None = DEFAULT_GROUP) -> ComparisonTable:
    """Community Alignment's CSV (or the same columns in JSONL / Parquet) as comparisons.

    `group`: annotator attributes that make a rater's group, joined by '+'; None for none."""
    groups, pairs = RaterGroups(group_fields(group)), []
    for where, record in iter_records(src):
        reader = FieldReader(record, source=str(src), where=where)
        rater = identifier(reader, "annotator_id")
        groups.note(reader, rater)
        pairs.extend(_conversation_pairs(reader, rater))
    return groups.attach(pair_table(pairs, str(src)))


def _conversation_pairs(reader: FieldReader, rater: str) -> list[dict]:
    conversation = identifier(reader, "conversation_id")
    dialogue, pairs = [], []
    for turn in TURNS:
        prompt = reader.text(f"{turn}_turn_prompt", required=False)
        preferred = reader.text(f"{turn}_turn_preferred_response", required=False)
        if not prompt.strip() or not preferred.strip():
            break   # the conversation ended (or was cut): no later turn follows on
        dialogue.append({"role": "user", "content": prompt})
        responses = {letter: reader.text(f"{turn}_turn_response_{letter}", required=False)
                     for letter in LETTERS}
        best = _preferred_letter(reader, turn, preferred, responses)
        for letter, text in responses.items():
            if text.strip() and text != responses[best]:
                pairs.append(pair(rater, render_messages(dialogue), responses[best], text,
                                  f"{conversation}:{turn}:{best}>{letter}"))
        dialogue.append({"role": "assistant", "content": responses[best]})
    return pairs


def _preferred_letter(reader: FieldReader, turn: str, preferred: str,
                      responses: dict[str, str]) -> str:
    field = f"{turn}_turn_preferred_response"
    letter = preferred.strip().lower().removeprefix("response_")
    if letter not in responses:
        reader.fail(field, f"expected one of response_a ... response_d, got {preferred!r}")
    if not responses[letter].strip():
        reader.fail(field, f"names {turn}_turn_response_{letter}, which is empty")
    return letter
