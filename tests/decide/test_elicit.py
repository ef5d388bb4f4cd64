"""Known answers for the elicitation strategies and the posterior they reason with, on a
two-dimensional linear rater whose posterior is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pluralist.decide.elicit import Elicitation, believe, choose, criterion_used
from pluralist.decide.pool import Pool, embed_pool, read_pool
from pluralist.decide.posterior import LAPLACE, LAPLACE_SIMPLEX, criterion_of, posterior
from pluralist.errors import DataError
from pluralist.models import build_model, family_names


class FixedCache:
    """An embedding cache with known vectors: text -> vector (unknown texts: zero)."""

    def __init__(self, vectors: dict[str, tuple[float, float]]):
        self.vectors = vectors

    def embed(self, texts):
        return np.array([self.vectors.get(t, (0.0, 0.0)) for t in texts], dtype=np.float32)


def identity_rater(simplex: bool = False, precision: float = 1.0):
    """lowrank with d = theta . (x_a - x_b): no offset, the identity as its basis."""
    model = build_model("lowrank", dim=2, raters=("r0",), seed=0, rank=2, simplex=simplex)
    with torch.no_grad():
        model.basis.weight.copy_(torch.eye(2))
        model.base.weight.zero_()
        model.base.bias.zero_()
        model.adapt_prior.fill_(precision)
    return model.eval()


# texts: "zero" at the origin, "e1x3" at (3, 0), and unit candidates along e1, e2, the diagonal
VECTORS = {"zero": (0.0, 0.0), "e1x3": (3.0, 0.0), "e1x30": (30.0, 0.0), "e1": (1.0, 0.0),
           "e2": (0.0, 1.0), "diag": (0.5 ** 0.5, 0.5 ** 0.5)}
VECTORS.update({f"e1x{k}": (float(k), 0.0) for k in (2, 4, 5)})
VECTORS.update({f"e2x{k}": (0.0, 0.2 * k) for k in (1, 2)})


def candidates_for(model, pairs):
    pool = Pool([""] * len(pairs), [a for a, _ in pairs], [b for _, b in pairs],
                [f"{a}-{b}" for a, b in pairs])
    return embed_pool(pool, model, FixedCache(VECTORS))


def symmetric_answers(model, text: str, times: int):
    """The pair (text, zero) won `times` times by each side: the MAP stays at theta = 0."""
    answered = candidates_for(model, [(text, "zero")])
    return answered.batch([0] * 2 * times, ["a", "b"] * times)


def test_laplace_posterior_of_a_two_dimensional_rater_is_the_closed_form():
    model = identity_rater(precision=1.0)
    answers = symmetric_answers(model, "e1x3", 2)    # 4 answers along e1, |x| = 3, p = 1/2 at the MAP
    post = posterior(model, answers)
    assert post.criterion == LAPLACE == criterion_of(model)
    np.testing.assert_allclose(post.mean, [0.0, 0.0], atol=1e-9)
    # precision: 1 + 4 * p(1-p) * 3^2 = 10 along e1, the prior's 1 along e2
    np.testing.assert_allclose(post.covariance, np.diag([0.1, 1.0]), atol=1e-9)


def test_information_picks_the_most_uncertain_direction():
    model = identity_rater()
    belief = believe(model, symmetric_answers(model, "e1x3", 2))
    candidates = candidates_for(model, [("e1", "zero"), ("diag", "zero"), ("e2", "zero")])
    available = np.ones(3, dtype=bool)
    assert choose(model, candidates, belief, available, strategy="information") == [2]
    # all three have p = 1/2 under the profile: uncertainty cannot tell them apart
    assert choose(model, candidates, belief, available, strategy="uncertainty") == [0]
    # the ranking follows z' Sigma z: 1 (e2) > 0.55 (diagonal) > 0.1 (e1)
    assert choose(model, candidates, belief, available, strategy="information", count=3) == [2, 1, 0]


def test_a_certain_direction_is_never_asked_about():
    model = identity_rater()
    belief = believe(model, symmetric_answers(model, "e1x30", 2))   # variance along e1: 1/901
    pairs = [(f"e1x{k}", "zero") for k in (2, 3, 4, 5)] + [("e2x1", "zero"), ("e2x2", "zero")]
    candidates = candidates_for(model, pairs)
    for strategy in ("information", "diverse"):
        picks = choose(model, candidates, belief, np.ones(len(pairs), dtype=bool),
                       strategy=strategy, count=2)
        assert sorted(picks) == [4, 5], strategy   # only the e2 candidates, even the short one


def test_greedy_batch_conditions_on_earlier_picks():
    """Two copies of the e2 question teach less than e2 then the diagonal: after one e2
    pick its variance falls, so the second pick moves elsewhere."""
    model = identity_rater()
    belief = believe(model, symmetric_answers(model, "e1x3", 2))
    candidates = candidates_for(model, [("e2", "zero"), ("e2x2", "zero"), ("e1", "zero"), ("diag", "zero")])
    picks = choose(model, candidates, belief, np.ones(4, dtype=bool), strategy="information", count=2)
    assert picks[0] == 0 and picks[1] != 1


def test_simplex_posterior_lives_in_the_tangent_space():
    model = identity_rater(simplex=True, precision=2.0)
    post = posterior(model, symmetric_answers(model, "e1x3", 0))
    assert post.criterion == LAPLACE_SIMPLEX
    # no answers: the prior's precision 2 along (1, -1)/sqrt(2), nothing along (1, 1)
    np.testing.assert_allclose(post.covariance, np.array([[0.25, -0.25], [-0.25, 0.25]]), atol=1e-12)


def test_the_session_excludes_answered_and_skipped_pairs_and_ends_empty():
    model = identity_rater()
    candidates = candidates_for(model, [("e1", "zero"), ("e2", "zero"), ("diag", "zero")])
    session = Elicitation(model, candidates, answered=[("", frozenset(("zero", "e1")))])
    assert session.duplicates == 1
    first = session.next()
    session.answer(first[0], "a")
    session.skip(session.next()[0])
    assert session.next() == [] and len(session.answers) == 1


def test_the_profile_after_answers_is_adapt_on_them():
    """A rater answering as theta = (2, -1) would: the session's profile is model.adapt's,
    and (its answers being consistent) away from the population."""
    model = identity_rater()
    texts = [t for t in VECTORS if t != "zero"]
    pairs = [(a, b) for i, a in enumerate(texts) for b in texts[i + 1:]]
    candidates = candidates_for(model, pairs)
    session = Elicitation(model, candidates, strategy="diverse")
    truth = np.array([2.0, -1.0])
    for _ in range(8):
        (row,) = session.next()
        a, b = np.array(VECTORS[pairs[row][0]]), np.array(VECTORS[pairs[row][1]])
        session.answer(row, "a" if truth @ (a - b) > 0 else "b")
    expected = model.adapt(session.answers)
    assert session.belief.profile.values == expected.values
    assert expected.values != model.shrink(expected, 0.0).values   # moved off the population


def test_pool_rows_with_one_text_twice_are_refused(write_jsonl):
    same = write_jsonl([{"prompt": "p", "response_a": "x", "response_b": "y"},
                        {"prompt": "p", "response_a": "z", "response_b": "z"}], name="pool.jsonl")
    with pytest.raises(DataError, match=r"pool.jsonl: line 2: field 'response_b': the same text"):
        read_pool(same)
    listed = write_jsonl([{"prompt": "p", "responses": ["x", "y", "x"]}], name="list.jsonl")
    with pytest.raises(DataError, match=r"line 1: field 'responses\[2\]': the same text as responses\[0\]"):
        read_pool(listed)


def test_a_pool_of_responses_gives_every_pair_once(write_jsonl):
    path = write_jsonl([{"prompt": "p", "responses": ["x", "y", "z"]},
                        {"prompt": "p", "response_a": "y", "response_b": "x"},     # a repeat, reversed
                        {"chosen": "u", "rejected": "v", "rater": "ignored"}])
    pool = read_pool(path)
    assert list(zip(pool.a, pool.b)) == [("x", "y"), ("x", "z"), ("y", "z"), ("u", "v")]


CRITERIA = {"variational": "amortised-gaussian", "mixture": "membership", "bt": "laplace",
            "lowrank": "laplace", "gpm": "laplace", "decomposed": "laplace", "ideal_point": "laplace-simplex"}


@pytest.mark.parametrize("family, options", [(name, {}) for name in family_names()]
                         + [("mixture", {"router": True}), ("decomposed", {"adapt_method": "softmax"}),
                            ("lowrank", {"simplex": True})])
def test_every_family_runs_a_session_and_names_its_criterion(family, options):
    model = build_model(family, dim=2, raters=("r0", "r1"), seed=0, **options).eval()
    texts = [t for t in VECTORS if t != "zero"]
    candidates = candidates_for(model, [(a, b) for i, a in enumerate(texts) for b in texts[i + 1:]])
    expected = "none" if family in ("mixture", "decomposed") and options else \
        "laplace-simplex" if options.get("simplex") else CRITERIA.get(family, "?")
    assert criterion_of(model) == expected
    for strategy in ("uncertainty", "information", "diverse"):
        session = Elicitation(model, candidates, strategy=strategy)
        for outcome in ("a", "b", "tie"):
            (row,) = session.next()
            session.answer(row, outcome)
        assert session.belief.profile.values == model.adapt(session.answers).values
        assert len(set(session.next(3))) == 3 and 0.5 <= session.expected_accuracy() <= 1.0
    said = criterion_used("information", session.belief)
    assert ("uncertainty" in said) == (expected == "none")
