"""What the model believes about the person using the page, in terms a person reads.

After every answer the page shows: a fixed showcase prompt's responses ranked for
them next to the population's ranking; which group of raters they are closest to,
where the family has groups (the prototypes of `ideal_point`, the basis rewards of
`lowrank --simplex`, the components of `mixture`) or else which trained rater's
parameters are nearest theirs; how sure the model is (the spread of the Laplace
posterior the elicitation reasons with, against its spread before any answer, and
the model's own expected accuracy on the questions still open, and how far it lets
the answers move the person from the population: the adaptation's calibrated trust);
and progress.

The belief is the elicitation's (decide/elicit.py): profile = model.adapt on the
person's stored comparisons, the same profile the feedback route stores.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from ..decide.elicit import Belief, believe, criterion_used, empty_batch, expected_accuracy
from ..decide.pool import Candidates, embed_pool, pair_key, read_pool
from ..decide.posterior import LAPLACE_SIMPLEX, MEMBERSHIP
from ..models.data import UNKNOWN_RATER, Batch
from .scoring import Scorer
from .storage import Comparison

SHOWCASE_RESPONSES = 5     # responses of the showcase prompt ranked on the page
TARGET_ANSWERS = 20        # the progress bar's length: answers after which it is full
STRATEGY = "information"   # the elicitation strategy choosing each next question


@dataclass(frozen=True, eq=False)
class PagePool:
    """The questions the page asks (a pool embedded for the served model), its
    fingerprint (tickets name it), and the showcase prompt with its responses."""

    candidates: Candidates
    fingerprint: str
    showcase_prompt: str
    showcase_responses: list[str]
    start_spread: float

    def __len__(self) -> int:
        return len(self.candidates)


def load_page_pool(path, scorer: Scorer) -> PagePool:
    """Read and embed the pool (through the server's embedding cache); the showcase is
    the pool's prompt with the most distinct responses (the first such)."""
    pool = read_pool(path)
    candidates = embed_pool(pool, scorer.model, scorer.batcher)
    keys = "\n".join(f"{p}\x00{a}\x00{b}" for p, a, b in zip(pool.prompt, pool.a, pool.b))
    fingerprint = hashlib.sha256(keys.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    responses: dict[str, list[str]] = {}
    for prompt, a, b in zip(pool.prompt, pool.a, pool.b):
        texts = responses.setdefault(prompt, [])
        texts.extend(t for t in (a, b) if t not in texts)
    showcase = max(responses, key=lambda p: len(responses[p]))
    start = believe(scorer.model, empty_batch(scorer.model.dim)).posterior.spread()
    return PagePool(candidates, fingerprint, showcase, responses[showcase][:SHOWCASE_RESPONSES], start)


def answers_batch(scorer: Scorer, comparisons: list[Comparison]) -> Batch:
    """Stored comparisons as the adaptation's batch (texts through the server's cache)."""
    if not comparisons:
        return empty_batch(scorer.model.dim)
    chosen, rejected, prompts = scorer.comparison_texts(comparisons)
    vectors = torch.from_numpy(scorer.batcher.embed(chosen + rejected + prompts))
    n = len(comparisons)
    return Batch(vectors[:n], vectors[n:2 * n], torch.arange(n), vectors[2 * n:],
                 torch.full((n,), UNKNOWN_RATER), torch.tensor([c.tie for c in comparisons]),
                 torch.zeros(n), torch.ones(n))


def open_rows(pool: PagePool, comparisons: list[Comparison], skipped=()) -> np.ndarray:
    """(N,) bool: the pool rows not yet answered (in either order) nor skipped."""
    answered = {pair_key(c.prompt, c.chosen, c.rejected) for c in comparisons}
    available = np.array([key not in answered for key in pool.candidates.pool.keys()], dtype=bool)
    rows = [r for r in skipped if isinstance(r, int) and 0 <= r < len(pool)]
    available[rows] = False
    return available


def showcase(scorer: Scorer, pool: PagePool, belief: Belief) -> dict:
    """The showcase prompt's responses, ranked for the person and for the population."""
    texts = scorer.texts_for(pool.showcase_prompt, pool.showcase_responses)
    vectors = scorer.batcher.embed(texts)
    n = len(pool.showcase_responses)
    prompt = np.repeat(vectors[n:], n, axis=0)
    yours, _ = scorer.rewards(vectors[:n], prompt, None, belief.profile)
    population, _ = scorer.rewards(vectors[:n], prompt, None, None)
    rank = lambda rewards: sorted(range(n), key=lambda i: -rewards[i])
    return {"prompt": pool.showcase_prompt, "responses": pool.showcase_responses,
            "yours": rank(yours), "population": rank(population),
            "your_rewards": [round(r, 4) for r in yours],
            "population_rewards": [round(r, 4) for r in population]}


def closest_group(scorer: Scorer, belief: Belief) -> dict | None:
    """The group the person's parameters weigh most, and how many trained raters have
    that group as theirs; for a family without groups, the nearest trained rater."""
    model, post = scorer.model, belief.posterior
    if post.criterion == MEMBERSHIP:
        kind, weights, seen = "component", post.membership, model.membership.numpy()
    elif post.criterion == LAPLACE_SIMPLEX:
        kind = "prototype" if model.family == "ideal_point" else "basis reward"
        weights, seen = np.asarray(belief.profile.values["theta"]), model.rater_parameters()
    else:
        return _nearest_rater(model, belief)
    group = int(np.argmax(weights))
    seen = np.asarray(seen if seen is not None else np.zeros((0, len(weights))))
    members = int((seen.argmax(1) == group).sum()) if len(seen) else 0
    return {"kind": kind, "group": group + 1, "groups": len(weights), "weight": float(weights[group]),
            "members": members, "raters": len(seen)}


def _nearest_rater(model, belief: Belief) -> dict | None:
    seen, theta = model.rater_parameters(), belief.profile.values.get("theta")
    if not seen or theta is None:
        return None
    distances = np.linalg.norm(np.asarray(seen) - np.asarray(theta), axis=1)
    nearest = int(np.argmin(distances))
    return {"kind": "rater", "rater": model.raters[nearest], "distance": float(distances[nearest]),
            "median_distance": float(np.median(distances)), "raters": len(seen)}


def trust(model, answers: Batch) -> float | None:
    """How far model.adapt moves the person from the population (0: not at all, 1: to
    their own fit), as adapt decides it: the calibrated trust at this many answers,
    zero where the answers' own cross-check fails."""
    if not len(answers):
        return None
    calibrated = model.trust_at(len(answers))
    with torch.no_grad():
        return calibrated if calibrated == 0 or model.cross_check(answers) else 0.0


def summary(scorer: Scorer, pool: PagePool, rater: str, comparisons: list[Comparison],
            skipped=()) -> dict:
    """Everything the page shows about the person after their answers so far."""
    answers = answers_batch(scorer, comparisons)
    belief = believe(scorer.model, answers)
    available = open_rows(pool, comparisons, skipped)
    accuracy = expected_accuracy(scorer.model, pool.candidates, belief, np.flatnonzero(available))
    return {"rater": rater, "answered": len(comparisons), "target": TARGET_ANSWERS,
            "personalised": scorer.model.personalised, "chosen_by": criterion_used(STRATEGY, belief),
            "open_questions": int(available.sum()), "showcase": showcase(scorer, pool, belief),
            "closest": closest_group(scorer, belief),
            "sureness": {"criterion": belief.posterior.criterion, "spread": belief.posterior.spread(),
                         "start_spread": pool.start_spread, "trust": trust(scorer.model, answers),
                         "expected_accuracy": None if np.isnan(accuracy) else accuracy},
            "answers": [{"prompt": c.prompt, "chosen": c.chosen, "rejected": c.rejected, "tie": c.tie}
                        for c in comparisons]}
