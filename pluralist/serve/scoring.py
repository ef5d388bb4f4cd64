"""Rewards for a served model: embeddings through a micro-batcher and a memory cache.

Concurrent requests' new texts are encoded together: one worker thread takes every
request waiting when it becomes free, encodes the union of their uncached texts in one
encoder call and answers them all (batching as in Clipper, Crankshaw et al., NSDI 2017,
without a fixed wait: under load the queue fills while the encoder works, alone a
request is encoded at once). Embeddings of texts seen are kept in a bounded LRU cache,
so a repeated text costs a dictionary look-up.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future

import numpy as np
import torch

from ..encode import compose_text
from ..models.base import PreferenceModel, RaterProfile
from ..models.data import UNKNOWN_RATER, Batch
from ..models.io import _checked_profile, _profile_shapes, model_identity
from .storage import Comparison

def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class VectorCache:
    """text -> embedding, at most `size` of them, least recently used dropped first."""

    def __init__(self, size: int):
        self.size, self._vectors, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: bytes):
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
            return vector

    def put(self, key: bytes, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[key] = vector
            self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)


class MicroBatcher:
    """Embeds texts for many callers, one encoder call per round of waiting requests."""

    def __init__(self, encoder, cache: VectorCache, *, max_batch: int = 256):
        self.encoder, self.cache, self.max_batch = encoder, cache, max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.calls = self.encoded = 0          # encoder calls and texts, for /healthz
        self._worker = threading.Thread(target=self._serve, name="pluralist-encoder", daemon=True)
        self._worker.start()

    def submit(self, texts: list[str]) -> Future:
        """A future of the (len(texts), dim) float32 embeddings."""
        future: Future = Future()
        keys = [_key(t) for t in texts]
        cached = [self.cache.get(k) for k in keys]
        if all(v is not None for v in cached):
            future.set_result(np.stack(cached) if cached else np.zeros((0, self.encoder.dim), np.float32))
            return future
        self._queue.put((texts, keys, future))
        return future

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.submit(texts).result()

    def _serve(self) -> None:
        while True:
            waiting = [self._queue.get()]
            while len(waiting) < self.max_batch:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._answer(waiting)

    def _answer(self, waiting: list) -> None:
        missing = {}
        for texts, keys, _ in waiting:
            for text, key in zip(texts, keys):
                if key not in missing and self.cache.get(key) is None:
                    missing[key] = text
        try:
            if missing:
                vectors = np.asarray(self.encoder.encode(list(missing.values())), dtype=np.float32)
                self.calls, self.encoded = self.calls + 1, self.encoded + len(missing)
                fresh = dict(zip(missing, vectors))
                for key, vector in fresh.items():
                    self.cache.put(key, vector)
            else:
                fresh = {}
        except Exception as err:   # every waiting caller hears of it; the worker lives on
            for *_, future in waiting:
                future.set_exception(err)
            return
        for _, keys, future in waiting:
            future.set_result(np.stack([fresh[k] if k in fresh else self.cache.get(k) for k in keys]))


class Scorer:
    """A loaded model with its encoder: rewards for a rater, and profile refits."""

    def __init__(self, model: PreferenceModel, encoder, *, cache_size: int = 50_000):
        self.model, self.encoder = model, encoder
        self.batcher = MicroBatcher(encoder, VectorCache(cache_size))
        identity = model_identity(model)
        self.model_id = f"{model.family}-{identity['fingerprint'][:16]}"
        self.encoder_id = model.encoder_id
        self._shapes = _profile_shapes(model)

    def texts_for(self, prompt: str, responses: list[str]) -> list[str]:
        """The texts to embed: each response as the model composes it, then the prompt."""
        return [compose_text(prompt, r, self.model.text_format) for r in responses] + [prompt]

    def rewards(self, emb: np.ndarray, prompt_emb: np.ndarray, rater: str | None,
                profile: RaterProfile | None) -> tuple[list[float], str]:
        """Rewards of responses embedded as `emb` (n, D) to prompts `prompt_emb` (n, D),
        and which parameters produced them: a profile (given or stored) first, then a
        rater the model was trained on, else the population."""
        emb, prompt = torch.from_numpy(emb), torch.from_numpy(prompt_emb)
        with torch.no_grad():
            if profile is not None:
                return self.model.reward_adapted(profile, emb, prompt).tolist(), "adapted profile"
            if rater is not None and rater in self.model.raters:
                index = torch.full((len(emb),), self.model.raters.index(rater))
                return self.model.reward(index, emb, prompt).tolist(), "seen rater"
            unknown = torch.full((len(emb),), UNKNOWN_RATER)
            return self.model.reward(unknown, emb, prompt).tolist(), "population"

    def checked_profile(self, raw: dict, where: str) -> RaterProfile:
        """A profile given in a request or read from the store, checked against the model
        (family, keys, lengths, finite values); DataError names what is wrong."""
        return _checked_profile(where, "given", raw, self.model, self._shapes)

    def comparison_texts(self, comparisons: list[Comparison]):
        """(chosen, rejected, prompts): the texts a refit embeds, as the model composes them."""
        fmt = self.model.text_format
        return ([compose_text(c.prompt, c.chosen, fmt) for c in comparisons],
                [compose_text(c.prompt, c.rejected, fmt) for c in comparisons],
                [c.prompt for c in comparisons])

    def refit(self, comparisons: list[Comparison]) -> dict:
        """The rater's profile from all of their comparisons, as stored (JSON-ready, with
        the id of the model it belongs to)."""
        chosen, rejected, prompts = self.comparison_texts(comparisons)
        distinct = list(dict.fromkeys(chosen + rejected + prompts))
        row = {text: i for i, text in enumerate(distinct)}
        vectors = torch.from_numpy(self.batcher.embed(distinct))
        rows = lambda texts: torch.tensor([row[t] for t in texts], dtype=torch.long)
        n = len(comparisons)
        batch = Batch(vectors[rows(chosen)], vectors[rows(rejected)], rows(prompts), vectors,
                      torch.full((n,), UNKNOWN_RATER), torch.tensor([c.tie for c in comparisons]),
                      torch.zeros(n), torch.ones(n))
        with torch.no_grad():
            profile = self.model.adapt(batch)
        return {"family": profile.family, "values": profile.values,
                "comparisons": profile.comparisons, "model": self.model_id}

    def stored_profile(self, storage, rater: str) -> RaterProfile | None:
        """`rater`'s profile from the store; one fitted with another model (the server
        restarted on a retrained one) is refitted on the stored comparisons, not misused."""
        stored = storage.rater(rater)
        if stored is None:
            return None
        raw = stored["profile"]
        if raw.get("model") != self.model_id:
            raw = self.refit(storage.comparisons(rater))
        return RaterProfile(raw["family"], raw["values"], raw["comparisons"])
