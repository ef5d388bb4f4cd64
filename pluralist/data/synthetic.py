"""The built-in pluralistic benchmark, with ground truth.

Responses to everyday questions are assembled so that eight attributes are
visible in their words (how much detail, formal or casual wording, bullet
lists, hedging, a joke, a concrete example, a technical explanation, warmth).
Raters belong to groups that agree on some attributes (consensus) and
disagree on others (controversial), plus individual variation; each label is
drawn from a Bradley–Terry model with the rater's true utility, as in the
simulated settings of MaxMin-RLHF (Chakraborty et al., 2024) and PAL (Chen et
al., 2024). Because the truth is known, so is the Bayes accuracy.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import DataError
from .table import ComparisonTable
from .topics import TOPICS, Topic

ATTRIBUTES = ("detail", "formality", "bullets", "hedging", "humour", "example",
              "technical", "warmth")

# Rows: groups; columns: ATTRIBUTES. Example, hedging and warmth are consensus
# (same sign everywhere); detail, formality, bullets, humour and technical depth
# are controversial (opposite signs across groups).
GROUP_WEIGHTS = {
    "expert":      (1.6, 1.0, 0.8, -0.6, -1.2, 1.0, 1.8, 0.3),
    "casual":      (-1.6, -1.4, -1.0, -0.6, 1.6, 1.0, -1.6, 0.6),
    "skimmer":     (-1.2, 0.8, 1.8, -0.6, -0.8, 1.0, 0.8, 0.3),
    "storyteller": (1.4, -1.0, -1.6, -0.6, 1.0, 1.0, -1.0, 0.6),
}
GROUP_SHARES = (0.4, 0.3, 0.2, 0.1)  # the last group is a deliberate minority
POSITION_PULL = 0.9  # how often a position-biased rater picks the response shown first


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 0
    raters: int = 400
    comparisons_per_rater: int = 100
    responses_per_prompt: int = 100
    prompts: int = len(TOPICS)
    utility_scale: float = 1.5        # multiplies all weights: larger = more decisive raters
    individual_spread: float = 0.35   # std of a rater's deviation from the group weights
    noise: float = 0.0                # probability that any label is flipped
    adversarial: float = 0.0          # fraction of raters who answer against their taste
    position_bias: float = 0.0        # fraction of raters who mostly pick the response shown first
    careless: float = 0.0             # fraction of raters who pick at random (a fair coin per label)

    def __post_init__(self):
        # a share above 1 used to crash deep in numpy (adversarial, position_bias) or
        # silently write nonsense (noise: a Bayes accuracy above 1)
        for name in ("noise", "adversarial", "position_bias", "careless"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise DataError(f"must be between 0 and 1, got {getattr(self, name)}",
                                source="synthetic benchmark", field=name)
        least = {"seed": 0, "raters": 1, "comparisons_per_rater": 1, "responses_per_prompt": 2,
                 "prompts": 1}
        for name, smallest in least.items():
            if getattr(self, name) < smallest:
                raise DataError(f"must be at least {smallest}, got {getattr(self, name)}",
                                source="synthetic benchmark", field=name)


@dataclass(frozen=True, eq=False)
class SyntheticBenchmark:
    config: SynthConfig
    table: ComparisonTable
    texts: list[str]                  # every response, (T,)
    attributes: np.ndarray            # (T, A) 0/1, the attributes of each text
    rater_ids: list[str]              # (R,)
    rater_weights: np.ndarray         # (R, A) true utility weights
    rater_groups: list[str]           # (R,)
    adversarial: np.ndarray           # (R,) bool
    position_biased: np.ndarray       # (R,) bool
    careless: np.ndarray              # (R,) bool
    p_chosen: np.ndarray              # (N,) true probability of the recorded label
    flipped: np.ndarray               # (N,) bool: the recorded label reverses the rater's choice

    def bayes_accuracy(self, rows=None) -> float:
        """Expected accuracy of the best possible predictor (it knows every rater)."""
        p = self.p_chosen if rows is None else self.p_chosen[rows]
        return float(np.mean(np.maximum(p, 1.0 - p)))

    def truth(self) -> dict:
        """JSON-ready ground truth, written beside the data by `pluralist data synth`."""
        return {
            "config": asdict(self.config),
            "attributes": list(ATTRIBUTES),
            "group_weights": {g: list(w) for g, w in GROUP_WEIGHTS.items()},
            "raters": [{"rater": r, "group": g, "weights": w.round(6).tolist(), "adversarial": bool(a),
                        "position_biased": bool(p), "careless": bool(c)}
                       for r, g, w, a, p, c in zip(self.rater_ids, self.rater_groups, self.rater_weights,
                                                   self.adversarial, self.position_biased, self.careless)],
            "texts": [{"text": t, "attributes": a.tolist()} for t, a in zip(self.texts, self.attributes)],
            "p_chosen": dict(zip(self.table.id.tolist(), self.p_chosen.round(6).tolist())),
            "flipped": self.table.id[self.flipped].tolist(),
            "bayes_accuracy": self.bayes_accuracy(),
        }


def generate(config: SynthConfig = SynthConfig()) -> SyntheticBenchmark:
    rng = np.random.default_rng(config.seed)
    topics = [TOPICS[i % len(TOPICS)] for i in range(config.prompts)]
    per_topic = [_responses(topic, config.responses_per_prompt, rng) for topic in topics]
    texts = [text for responses in per_topic for text, _ in responses]
    attributes = np.array([attrs for responses in per_topic for _, attrs in responses], dtype=np.int8)
    raters = _raters(config, rng)
    return _compare(config, rng, topics, per_topic, texts, attributes, *raters)


def _raters(config: SynthConfig, rng: np.random.Generator):
    groups = rng.choice(list(GROUP_WEIGHTS), size=config.raters, p=GROUP_SHARES)
    base = np.array([GROUP_WEIGHTS[g] for g in groups])                     # (R, A)
    weights = config.utility_scale * (base + config.individual_spread * rng.standard_normal(base.shape))
    adversarial = _drawn_share(rng, config.raters, config.adversarial)
    ids = [f"r{i:04d}" for i in range(config.raters)]
    return ids, weights, groups.tolist(), adversarial


def _compare(config, rng, topics, per_topic, texts, attributes, ids, weights, groups, adversarial):
    n_per = config.comparisons_per_rater
    rater = np.repeat(np.arange(config.raters), n_per)                       # (N,)
    topic = rng.integers(len(topics), size=rater.size)
    offsets = np.cumsum([0] + [len(r) for r in per_topic])[:-1]
    sizes = np.array([len(r) for r in per_topic])
    first = rng.integers(sizes[topic])
    second = (first + 1 + rng.integers(sizes[topic] - 1)) % sizes[topic]     # never equal
    a, b = offsets[topic] + first, offsets[topic] + second
    margin = np.einsum("na,na->n", weights[rater], attributes[a] - attributes[b])
    p_clean = 1.0 / (1.0 + np.exp(-margin))
    clean_a_wins = rng.random(rater.size) < p_clean                       # the rater's true choice
    flipped = (rng.random(rater.size) < config.noise) ^ adversarial[rater]  # what reached the data
    a_wins = clean_a_wins ^ flipped
    p_a = (1 - config.noise) * p_clean + config.noise * (1 - p_clean)
    p_a = np.where(adversarial[rater], 1 - p_a, p_a)
    biased, a_first, a_wins, p_a = _positions(config, rater, a_wins, p_a)
    careless, a_wins, p_a = _careless(config, rater, a_wins, p_a)
    flipped &= ~(biased | careless)[rater]   # their label is their (content-blind) choice, not a flip
    chosen, rejected = np.where(a_wins, a, b), np.where(a_wins, b, a)
    texts_arr = np.array(texts, dtype=object)
    table = ComparisonTable.from_columns(
        rater=[ids[r] for r in rater], prompt=[topics[t].question for t in topic],
        chosen=texts_arr[chosen], rejected=texts_arr[rejected],
        group=[groups[r] for r in rater], id=[f"c{i:06d}" for i in range(rater.size)],
        chosen_first=a_wins == a_first)
    return SyntheticBenchmark(config, table, texts, attributes, ids, weights, groups,
                              adversarial, biased, careless, np.where(a_wins, p_a, 1 - p_a), flipped)


def _positions(config, rater, a_wins, p_a):
    """Which response was shown first (a fair coin), and the choices of the
    position-biased raters: the first-shown response with probability
    POSITION_PULL, whatever the content. Drawn from their own random stream,
    so the rest of the benchmark is the same with or without them."""
    rng = np.random.default_rng([config.seed, 1])
    a_first = rng.random(rater.size) < 0.5
    biased = _drawn_share(rng, config.raters, config.position_bias)
    picks_first = rng.random(rater.size) < POSITION_PULL
    on = biased[rater]
    a_wins = np.where(on, a_first == picks_first, a_wins)
    p_a = np.where(on, np.where(a_first, POSITION_PULL, 1 - POSITION_PULL), p_a)
    return biased, a_first, a_wins, p_a


def _careless(config, rater, a_wins, p_a):
    """The careless raters' choices: a fair coin per label, whatever the content (a
    rater drawn both careless and position-biased is careless). Drawn from their own
    random stream, so the rest of the benchmark is the same with or without them."""
    rng = np.random.default_rng([config.seed, 2])
    careless = _drawn_share(rng, config.raters, config.careless)
    coin = rng.random(rater.size) < 0.5
    on = careless[rater]
    return careless, np.where(on, coin, a_wins), np.where(on, 0.5, p_a)


def _drawn_share(rng: np.random.Generator, raters: int, share: float) -> np.ndarray:
    """(raters,) bool: a random `share` of the raters (rounded to whole raters)."""
    chosen = np.zeros(raters, dtype=bool)
    chosen[rng.choice(raters, size=int(round(share * raters)), replace=False)] = True
    return chosen


def _responses(topic: Topic, count: int, rng: np.random.Generator) -> list[tuple[str, tuple]]:
    """`count` distinct responses for one topic, each with its attribute vector."""
    combos = list(itertools.product((0, 1), repeat=len(ATTRIBUTES)))
    out: dict[str, tuple] = {}
    while len(out) < count:
        attrs = combos[rng.integers(len(combos))]
        text = render_response(topic, dict(zip(ATTRIBUTES, attrs)), rng.permutation(4))
        out.setdefault(text, attrs)
    return list(out.items())


def render_response(topic: Topic, a: dict[str, int], tip_order) -> str:
    """Assemble one response; each attribute changes the words, not a hidden id."""
    tips = [topic.tips[i] for i in tip_order][: 4 if a["detail"] else 1]
    steps = [_tip_sentence(tip, a["formality"], a["hedging"]) for tip in tips]
    if a["bullets"]:  # a markdown list with its lead-in, as chat answers write them
        body = _LIST_LEAD[a["formality"]] + "\n" + "\n".join(
            f"{i}. **Step {i}:** {s}" for i, s in enumerate(steps, start=1))
    else:
        body = " ".join(steps)
    parts = [_OPENERS[a["warmth"], a["formality"]].format(subject=topic.subject), body]
    if a["detail"]:
        parts.append(f"Those {len(steps)} steps cover the main causes of trouble with {topic.subject}.")
    if a["example"]:
        parts.append(("For example, in real life: " if a["formality"] else "Real example: ")
                     + topic.example + ".")
    if a["technical"]:
        parts.append(f"The technical reason: {topic.technical}.")
    if a["humour"]:
        parts.append(f"Ha, and remember: {topic.joke}! 😄 (Okay, I'll stop joking now... maybe. 😂)")
    parts.append(_CLOSERS[a["hedging"], a["warmth"]])
    return "\n".join(p for p in parts if p)


_LIST_LEAD = {1: "The steps are as follows:", 0: "Here's the list:"}


def _tip_sentence(tip: str, formal: int, hedged: int) -> str:
    template = {(1, 1): "It may perhaps be advisable to {t}.", (1, 0): "It is essential to {t}.",
                (0, 1): "Maybe try to {t}, I guess?", (0, 0): "Just {t}."}[formal, hedged]
    return template.format(t=tip)


_OPENERS = {
    (1, 1): "Thank you for your thoughtful question about {subject}; I am delighted to help.",
    (1, 0): "Regarding {subject}, the recommended approach is as follows.",
    (0, 1): "Aw, great question about {subject}, happy to help!",
    (0, 0): "",
}
_CLOSERS = {
    (1, 1): "That said, I might be wrong, so please see what works for you. Wishing you the very best!",
    (1, 0): "That said, I might be wrong, so check what works for you.",
    (0, 1): "This works every time. You've got this, good luck!",
    (0, 0): "This works every time.",
}
