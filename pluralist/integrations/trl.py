"""A reward function for TRL's GRPOTrainer(reward_funcs=[...]).

TRL calls it with `prompts` and `completions` (plain strings, or conversations: lists
of {"role", "content"} messages) and every other dataset column as a keyword list, one
entry per sample; the rater's id comes from one of those columns (`user_id` unless told
otherwise). It scores from a model directory in this process or from a running
`pluralist serve` URL, and TRL logs it under its `__name__` (`pluralist_reward`).
"""

from __future__ import annotations

from ..errors import PluralistError
from .client import Client


def message_text(value, *, role: str | None = None) -> str:
    """A plain string as it is; a conversation as the text a reward model reads: the
    last user message of a prompt, the assistant messages of a completion joined."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise PluralistError(f"expected a string or a list of messages, got {type(value).__name__}")
    if role == "user":
        users = [m.get("content", "") for m in value if m.get("role") == "user"]
        return str(users[-1]) if users else ""
    said = [str(m.get("content", "")) for m in value if m.get("role", "assistant") == "assistant"]
    return "\n".join(said)


class PluralistReward:
    """reward(prompts, completions, **columns) -> one float per sample, for each sample's
    rater (a rater the model does not know, or no id, gets the population reward)."""

    def __init__(self, source: str, *, user_column: str = "user_id", api_key: str | None = None,
                 name: str = "pluralist_reward"):
        self.user_column, self.__name__ = user_column, name
        if source.startswith(("http://", "https://")):
            self._client, self._local = Client(source, api_key=api_key), None
        else:
            self._client, self._local = None, _LocalScorer(source)

    def __call__(self, prompts, completions, **columns) -> list[float]:
        raters = columns.get(self.user_column)
        if raters is not None and len(raters) != len(completions):
            raise PluralistError(f"column {self.user_column!r} has {len(raters)} entries for "
                                 f"{len(completions)} completions")
        raters = raters if raters is not None else [None] * len(completions)
        groups: dict[tuple, list[int]] = {}
        for i, (prompt, rater) in enumerate(zip(prompts, raters)):
            rater = None if rater is None else str(rater)
            groups.setdefault((message_text(prompt, role="user"), rater), []).append(i)
        rewards = [0.0] * len(completions)
        for (prompt, rater), rows in groups.items():
            texts = [message_text(completions[i]) for i in rows]
            for row, value in zip(rows, self._score(prompt, texts, rater)):
                rewards[row] = float(value)
        return rewards

    def _score(self, prompt: str, responses: list[str], rater: str | None) -> list[float]:
        if self._client is not None:
            return self._client.score(prompt, responses, rater)["rewards"]
        return self._local.rewards(prompt, responses, rater)


class _LocalScorer:
    """The served scoring path (micro-batcher, embedding cache) in this process."""

    def __init__(self, model_dir: str):
        from ..encode import get_encoder
        from ..serve.scoring import Scorer
        from ..workflows import load_with_encoder

        model, embedding = load_with_encoder(model_dir)
        self.scorer = Scorer(model, get_encoder(embedding.encoder))

    def rewards(self, prompt: str, responses: list[str], rater: str | None) -> list[float]:
        import numpy as np

        vectors = self.scorer.batcher.embed(self.scorer.texts_for(prompt, responses))
        n = len(responses)
        values, _ = self.scorer.rewards(vectors[:n], np.repeat(vectors[n:], n, axis=0), rater, None)
        return values
