"""A PAL-style heterogeneous preference benchmark from persona statement files.

Input: files in the format of Anthropic's model-written persona evaluations
(Perez et al., 2022), one behaviour per `NAME.jsonl`, each line with a
`statement` and `answer_matching_behavior` (" Yes" when a person with the
behaviour would say the statement, " No" when they would not).

Following PAL (Chen et al., 2024): a simulated rater holds a few behaviours
(shared within their group). A statement scores +1 for each of the rater's
behaviours it expresses and -1 for each it contradicts; of two statements the
rater prefers the higher-scoring one. Pairs always involve at least one of the
rater's own behaviours, so every comparison says something about them, and
different groups disagree on the same statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from pathlib import Path

import numpy as np

from ..errors import DataError
from .io import iter_records
from .records import FieldReader
from .table import ComparisonTable

PROMPT = "Is the following statement something you would say?"


@dataclass(frozen=True)
class PersonaConfig:
    raters: int = 240
    groups: int = 8
    traits_per_rater: int = 2
    behaviours: int = 16               # behaviour files used (the first, by name)
    statements_per_behaviour: int = 80
    comparisons_per_rater: int = 60
    seed: int = 0


def read_behaviours(src: Path, limit: int | None = None) -> dict[str, list[tuple[str, int]]]:
    """name -> [(statement, +1 if holders say it else -1)], validated and located."""
    files = sorted(Path(src).glob("*.jsonl"))
    if not files:
        raise DataError("no persona files (*.jsonl) here", source=str(src))
    behaviours = {}
    for path in files[:limit]:
        statements = []
        for where, record in iter_records(path):
            reader = FieldReader(record, source=str(path), where=where)
            answer = reader.text("answer_matching_behavior").strip()
            if answer not in ("Yes", "No"):
                reader.fail("answer_matching_behavior", f"expected ' Yes' or ' No', got {answer!r}")
            statements.append((reader.text("statement"), 1 if answer == "Yes" else -1))
        behaviours[path.stem] = statements
    return behaviours


def persona_benchmark(src: Path, config: PersonaConfig = PersonaConfig()) -> ComparisonTable:
    rng = np.random.default_rng(config.seed)
    behaviours = read_behaviours(src, config.behaviours)
    names = sorted(behaviours)
    if config.traits_per_rater > len(names):
        raise DataError(f"{config.traits_per_rater} traits per rater but only {len(names)} behaviours",
                        source=str(src))
    pools = {n: _sample(behaviours[n], config.statements_per_behaviour, rng) for n in names}
    group_traits = _group_traits(names, config, rng)
    rows = []
    for rater in range(config.raters):
        group = rater % config.groups
        traits = group_traits[group]
        for _ in range(config.comparisons_per_rater):
            rows.append(_comparison(f"p{rater:04d}", "+".join(traits), traits, names, pools, rng))
    return ComparisonTable.from_columns(
        rater=[r[0] for r in rows], group=[r[1] for r in rows], prompt=[PROMPT] * len(rows),
        chosen=[r[2] for r in rows], rejected=[r[3] for r in rows],
        id=[f"persona-{i:06d}" for i in range(len(rows))])


def _sample(statements, count, rng):
    picks = rng.permutation(len(statements))[:count]
    return [statements[i] for i in picks]


def _group_traits(names, config, rng) -> list[tuple[str, ...]]:
    """One behaviour set per group, distinct while there are enough combinations."""
    distinct = min(config.groups, comb(len(names), config.traits_per_rater))
    sets: list[tuple[str, ...]] = []
    while len(sets) < distinct:
        traits = tuple(sorted(rng.choice(names, config.traits_per_rater, replace=False).tolist()))
        if traits not in sets:
            sets.append(traits)
    return [sets[g % distinct] for g in range(config.groups)]


def _comparison(rater, group, traits, names, pools, rng):
    """One pair with different scores for this rater; the higher one is chosen."""
    while True:
        own = traits[rng.integers(len(traits))]
        other = names[rng.integers(len(names))]
        a = pools[own][rng.integers(len(pools[own]))]
        b = pools[other][rng.integers(len(pools[other]))]
        score_a = a[1] if own in traits else 0
        score_b = b[1] if other in traits else 0
        if score_a != score_b and a[0] != b[0]:
            chosen, rejected = (a, b) if score_a > score_b else (b, a)
            return rater, group, chosen[0], rejected[0]
