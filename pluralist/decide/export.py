"""Candidates (a prompt with several responses, e.g. sampled from a policy) turned into
preference pairs for DPO-family trainers, labelled by one rater's utility, each group's,
or an aggregation rule.

Input, one JSON object a line (or any format pluralist reads that can hold a list):

    {"prompt": "How do I sleep better?", "responses": ["...", "...", "..."]}

at least two responses, no two the same. Output, one pair a line, TRL's standard
preference format (what `trl.DPOTrainer` reads; RewardTrainer also reads `margin`):

    {"prompt": ..., "chosen": ..., "rejected": ..., "margin": 0.21, "rater": "r0007"}

with `rater` (labelled by that rater), `group` (by that group's mean utility), or
`group: "all"` and `rule` (by a rule over everyone). `margin` is the labeller's score
of the chosen response minus the rejected one's: a utility difference for a rater or a
group, the rule's own score difference for a rule (aggregate.py).

Pairing strategies (`pairing`), over the labeller's ranking of one prompt's responses:

- `best-vs-worst`: one pair, the best against the worst;
- `best-vs-each`: the best against every other response (N - 1 pairs);
- `above:M`: every pair whose margin exceeds M >= 0 (up to N (N - 1) / 2 pairs).

A pair with no margin (the labeller is indifferent) is never written: it teaches nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..data.io import iter_records
from ..data.records import FieldReader
from ..errors import DataError
from ..fileio import atomic_path
from .aggregate import decide, number_after, ranking
from .utility import group_utilities, utilities

PAIRINGS = ("best-vs-worst", "best-vs-each", "above:M")


@dataclass(frozen=True)
class CandidateSet:
    prompt: str
    responses: tuple[str, ...]
    where: str                  # "line 3": where the file holds it


def read_candidates(path) -> list[CandidateSet]:
    """Every prompt's candidates from `path`, checked: one located error otherwise."""
    sets = [_candidate_set(FieldReader(record, source=str(path), where=where))
            for where, record in iter_records(path)]
    if not sets:
        raise DataError("no candidates", source=str(path))
    return sets


def candidate_set(record, *, source: str, where: str, prompt_required: bool = True) -> CandidateSet:
    """One prompt's candidates from a record {"prompt", "responses"}, checked."""
    return _candidate_set(FieldReader(record, source=source, where=where), prompt_required)


def _candidate_set(reader: FieldReader, prompt_required: bool = True) -> CandidateSet:
    prompt = reader.text("prompt", required=prompt_required)
    responses = reader.required("responses")
    if not isinstance(responses, list):
        reader.fail("responses", f"expected a list of responses, got {type(responses).__name__}")
    if len(responses) < 2:
        reader.fail("responses", f"needs at least two responses to choose between, got {len(responses)}")
    first_at: dict[str, int] = {}
    for number, response in enumerate(responses, start=1):
        if not isinstance(response, str) or not response.strip():
            reader.fail("responses", f"response {number} is not a non-empty text")
        reader.check_unicode("responses", response)
        if response in first_at:
            reader.fail("responses", f"response {number} repeats response {first_at[response]}")
        first_at[response] = number
    return CandidateSet(prompt, tuple(responses), reader.where)


@dataclass(frozen=True)
class Pairing:
    name: str                   # best-vs-worst, best-vs-each or above
    threshold: float = 0.0      # above:M only

    def __str__(self) -> str:
        return f"above:{self.threshold:g}" if self.name == "above" else self.name


def parse_pairing(text: str) -> Pairing:
    name, sep, value = str(text).strip().partition(":")
    if name == "above":
        threshold = number_after(sep, value)
        if not 0.0 <= threshold < float("inf"):
            raise DataError(f"above needs a margin M >= 0, as in above:0.1; got {text!r}", field="pairing")
        return Pairing("above", threshold)
    if sep or name not in ("best-vs-worst", "best-vs-each"):
        raise DataError(f"unknown pairing {text!r}; choose from {', '.join(PAIRINGS)}", field="pairing")
    return Pairing(name)


def pairs(scores: np.ndarray, order: np.ndarray, pairing: Pairing) -> list[tuple[int, int, float]]:
    """(chosen, rejected, margin) pairs of one prompt's candidates, from their scores
    and ranking (best first); pairs without a positive margin are left out."""
    best = int(order[0])
    if pairing.name == "best-vs-worst":
        candidates = [(best, int(order[-1]))]
    elif pairing.name == "best-vs-each":
        candidates = [(best, int(other)) for other in order[1:]]
    else:
        candidates = [(int(a), int(b)) for k, a in enumerate(order) for b in order[k + 1:]]
    out = [(a, b, float(scores[a] - scores[b])) for a, b in candidates]
    floor = pairing.threshold if pairing.name == "above" else 0.0
    return [pair for pair in out if pair[2] > floor]


def pair_records(candidates: CandidateSet, found: list[tuple[int, int, float]], label: dict) -> list[dict]:
    """TRL preference rows for one prompt's pairs, each with the `label` columns."""
    return [{"prompt": candidates.prompt, "chosen": candidates.responses[a],
             "rejected": candidates.responses[b], "margin": margin, **label}
            for a, b, margin in found]


def check_pairs_path(path) -> None:
    """The output must be a .jsonl file (refused before any work otherwise)."""
    if not str(path).lower().endswith(".jsonl"):
        raise DataError("pairs are written as JSON lines: name the file .jsonl", source=str(path))


def write_pairs(path, records: list[dict]) -> None:
    """All pairs or none: written aside and renamed into place."""
    check_pairs_path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


LABELS = ("rater", "each-rater", "each-group", "rule")


def labellings(win: np.ndarray, raters, groups, how: str, *, rule=None, scale: str = "win"):
    """(label columns, scores (N,), ranking best first) of each labeller of one prompt's
    candidates, from (R, N, N) P_r(i > j): each rater (`rater`, `each-rater`), each
    group's mean utility (`each-group`) or `rule` over everyone."""
    if how == "rule":
        decision = decide(rule, win, groups, scale)
        return [({"group": "all", "rule": str(rule)}, decision.scores, decision.order)]
    utility = utilities(win, scale)                                    # (R, N)
    if how == "each-group":
        names, by_group = group_utilities(utility, groups)
        return [({"group": name}, own, ranking(own, own)) for name, own in zip(names, by_group)]
    if how not in ("rater", "each-rater"):
        raise ValueError(f"unknown labelling {how!r}; choose from {LABELS}")
    return [({"rater": rater}, own, ranking(own, own)) for rater, own in zip(raters, utility)]
