"""PersonalLLM (Zollo et al., 2025, "PersonalLLM: Tailoring LLMs to Individual
Preferences", ICLR).

One prompt a row: `prompt`, eight responses `response_1` ... `response_8`, and each
response's score under ten open reward models, `response_<i>_<model>`. There are no
human raters: as in the paper, simulated users are Dirichlet-weighted mixtures of the
reward models, a user's score of a response being the weighted sum of the models'
scores. Small `alpha` makes each user lean on one or two models (users far apart);
large `alpha` makes every user close to the models' average. Each user judges a
random sample of the prompts; pairs are formed among the eight responses of each.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..convert import ratings_to_pairs
from ..io import iter_records
from ..records import FieldReader
from ..table import ComparisonTable
from ._common import attach_groups, check_positive, OptionError

REWARD_MODELS = ("beaver_7b", "gemma_2b", "gemma_7b", "llama3_sfairx", "mistral_raft",
                 "mistral_ray", "mistral_weqweasdas", "oasst_deberta_v3", "oasst_pythia_1b",
                 "oasst_pythia_7b")
RESPONSES = 8


def import_personal_llm(src: str | Path, *, users: int = 100, prompts_per_user: int = 20,
                        alpha: float = 0.05, seed: int = 0) -> ComparisonTable:
    """PersonalLLM's rows (Parquet, JSONL or CSV) as the comparisons of simulated users.

    `users` users, each with weights drawn from Dirichlet(`alpha`, ..., `alpha`) over the
    ten reward models, each judging `prompts_per_user` prompts drawn at random; `seed`
    fixes both draws. A user's group is the reward model they weigh most."""
    _check_options(users, prompts_per_user, alpha, seed)
    source = str(src)
    rows, prompts, responses, scores = _read(src, source)
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(len(REWARD_MODELS), float(alpha)), size=users)
    standard, ratings = _standardised(scores), []
    for user in range(users):
        asked = np.sort(rng.choice(len(prompts), size=min(prompts_per_user, len(prompts)),
                                   replace=False))
        mixed = standard[asked] @ weights[user]          # (prompts asked, responses)
        for p, row_scores in zip(asked, mixed):
            ratings.extend((f"{rows[p]}:response_{r + 1}",
                            {"rater": _name(user), "prompt": prompts[p],
                             "text": responses[p][r], "score": float(row_scores[r])})
                           for r in range(RESPONSES))
    table = ratings_to_pairs(ratings, source=source)
    leaning = {_name(u): REWARD_MODELS[int(np.argmax(weights[u]))] for u in range(users)}
    return attach_groups(table, leaning)


def _check_options(users, prompts_per_user, alpha, seed) -> None:
    check_positive("users", users, whole=True)
    check_positive("prompts_per_user", prompts_per_user, whole=True)
    check_positive("alpha", alpha)
    if not math.isfinite(alpha):
        raise OptionError(f"option 'alpha' must be finite, got {alpha!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise OptionError(f"option 'seed' must be a whole number, got {seed!r}")


def _name(user: int) -> str:
    return f"user{user + 1}"


def _read(src, source: str):
    """Row locations, prompts, responses (rows x 8) and scores (rows x 8 x models)."""
    rows, prompts, responses, scores = [], [], [], []
    for where, record in iter_records(src):
        reader = FieldReader(record, source=source, where=where)
        rows.append(where)
        prompts.append(reader.text("prompt"))
        responses.append([reader.text(f"response_{r}") for r in range(1, RESPONSES + 1)])
        scores.append([[_score(reader, f"response_{r}_{model}") for model in REWARD_MODELS]
                       for r in range(1, RESPONSES + 1)])
    if not rows:
        raise DataError("no prompts (empty file)", source=source)
    return rows, prompts, responses, np.asarray(scores, dtype=np.float64)


def _score(reader: FieldReader, field: str) -> float:
    value = reader.number(field, default=float("nan"), minimum=float("-inf"), strict=False)
    if value != value:
        reader.fail(field, "missing required field")
    return value


def _standardised(scores: np.ndarray) -> np.ndarray:
    """Each reward model's scores to mean 0, spread 1 over the file, so that no model's
    scale outweighs the others in a mixture (the paper standardises each model too)."""
    flat = scores.reshape(-1, scores.shape[-1])
    spread = flat.std(axis=0)
    return (scores - flat.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
