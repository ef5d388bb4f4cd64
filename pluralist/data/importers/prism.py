"""PRISM (Kirk et al., 2024, "The PRISM Alignment Dataset: What Participatory,
Representative and Individualised Human Feedback Reveals About the Subjective and
Multicultural Alignment of Large Language Models", NeurIPS Datasets and Benchmarks).

A directory with `conversations.jsonl` (one conversation a line: `user_id`,
`conversation_id`, `conversation_history`, a list of messages with `turn`, `role`
'user' or 'model', `content`, and for model messages `model_name`, `score` 1-100,
`if_chosen`, `within_turn_id`) and `survey.jsonl` (one participant a line, `user_id`
and their attributes). In each turn the participant scored every model response and
chose one to continue with: the chosen response is compared with each other response
of that turn (a tie where their scores are equal), and the prompt is the dialogue so
far, the chosen responses of earlier turns included. Groups come from the survey.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from ...errors import DataError
from ..io import iter_records
from ..records import FieldReader, render_messages
from ..table import ComparisonTable
from ._common import (attach_groups, group_fields, identifier, nested_list, nested_text,
                      pair, pair_table, RaterGroups)

DEFAULT_GROUP = "location.reside_region"


def import_prism(src: str | Path, *, group: str | None = DEFAULT_GROUP) -> ComparisonTable:
    """PRISM's DIR (or its conversations.jsonl, survey.jsonl beside it) as comparisons.

    `group`: survey attributes that make a rater's group, joined by '+' ('gender+age');
    None for none. Without a survey.jsonl the raters have no groups."""
    fields = group_fields(group)
    conversations, survey = _paths(Path(src))
    pairs = []
    for where, record in iter_records(conversations):
        reader = FieldReader(record, source=str(conversations), where=where)
        pairs.extend(_conversation_pairs(reader))
    table = pair_table(pairs, str(conversations))
    return attach_groups(table, _survey_groups(survey, fields))


def _paths(src: Path) -> tuple[Path, Path | None]:
    folder = src if src.is_dir() else src.parent
    if src.is_dir():
        src = next((folder / n for n in ("conversations.jsonl", "conversations.jsonl.gz")
                    if (folder / n).is_file()), folder / "conversations.jsonl")
    if not src.is_file():
        raise DataError("no such file (PRISM's conversations.jsonl)", source=str(src))
    survey = next((folder / n for n in ("survey.jsonl", "survey.jsonl.gz")
                   if (folder / n).is_file()), None)
    return src, survey


def _survey_groups(survey: Path | None, fields: list[str]) -> dict[str, str]:
    if survey is None or not fields:
        return {}
    groups = RaterGroups(fields)
    for where, record in iter_records(survey):
        reader = FieldReader(record, source=str(survey), where=where)
        groups.note(reader, identifier(reader, "user_id"))
    return groups.of


def _conversation_pairs(reader: FieldReader) -> list[dict]:
    """Turn by turn: the chosen response against the others; the chosen one then
    joins the dialogue, as it did in the conversation."""
    rater = identifier(reader, "user_id")
    conversation = identifier(reader, "conversation_id")
    dialogue, pairs = [], []
    for turn, (user, models) in _turns(reader):
        if user is None:
            reader.fail("conversation_history", f"turn {turn} has no user message")
        dialogue.append({"role": "user", "content": user})
        chosen = _chosen(reader, turn, models)
        if chosen is None:
            break   # nothing was chosen to continue with: later turns have no dialogue
        prompt = render_messages(dialogue)
        for other in models:
            if other["content"] != chosen["content"]:
                pairs.append(pair(rater, prompt, chosen["content"], other["content"],
                                  f"{conversation}:{turn}:{chosen['id']}>{other['id']}",
                                  tie=_tie(chosen, other)))
        dialogue.append({"role": "assistant", "content": chosen["content"]})
    return pairs


def _turns(reader: FieldReader) -> list[tuple[int, tuple[str | None, list[dict]]]]:
    """(turn, (user message, model responses)) in turn order."""
    turns = defaultdict(lambda: [None, []])
    for index, item in enumerate(nested_list(reader, "conversation_history")):
        field = f"conversation_history[{index}]"
        if not isinstance(item, Mapping):
            reader.fail(field, "expected an object")
        turn, role = item.get("turn"), item.get("role")
        if isinstance(turn, bool) or not isinstance(turn, int):
            reader.fail(f"{field}.turn", f"expected a whole-number turn, got {turn!r}")
        content = nested_text(reader, item, "content", f"{field}.content")
        if role == "user":
            if turns[turn][0] is not None:
                reader.fail(f"{field}.role", f"a second user message in turn {turn}")
            turns[turn][0] = content
        elif role == "model":
            turns[turn][1].append(_model_response(reader, item, field, content, index))
        else:
            reader.fail(f"{field}.role", f"expected 'user' or 'model', got {role!r}")
    return sorted((turn, tuple(entry)) for turn, entry in turns.items())


def _model_response(reader: FieldReader, item: Mapping, field: str, content: str,
                    index: int) -> dict:
    chosen, score = item.get("if_chosen", False), item.get("score")
    if not isinstance(chosen, bool):
        reader.fail(f"{field}.if_chosen", f"expected true or false, got {chosen!r}")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        reader.fail(f"{field}.score", f"not a number: {score!r}")
    within = item.get("within_turn_id")
    return {"content": content, "chosen": chosen, "score": score, "field": field,
            "id": str(within if within is not None else index)}


def _chosen(reader: FieldReader, turn: int, models: list[dict]) -> dict | None:
    chosen = [m for m in models if m["chosen"]]
    if len({m["content"] for m in chosen}) > 1:
        reader.fail(f"{chosen[1]['field']}.if_chosen",
                    f"a second, different response chosen in turn {turn}")
    return chosen[0] if chosen else None


def _tie(chosen: dict, other: dict) -> bool:
    return chosen["score"] is not None and chosen["score"] == other["score"]
