"""Model-free deterministic features: signed hashing of word 1-2-grams, character
4-grams and a few layout tokens (Weinberger et al., 2009, "Feature Hashing").

Fast and dependency-free; meant for tests and quick experiments, not quality.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashingEncoder:
    def __init__(self, *, dim: int = 384):
        if dim < 8:
            raise ValueError("hashing dimension must be at least 8")
        self.dim = dim
        self.id = f"hashing-v1:{dim}"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, count in _features(text).items():
                index, sign = _slot(feature, self.dim)
                out[row, index] += sign * (1.0 + np.log(count))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def _features(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    words = _TOKEN.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    grams += [f"#{w[i:i + 4]}" for w in words if len(w) > 4 for i in range(len(w) - 3)]
    grams += [f"@lines{min(text.count(chr(10)), 8)}", f"@len{min(len(words) // 20, 10)}"]
    for gram in grams:
        counts[gram] = counts.get(gram, 0) + 1
    return counts


def _slot(feature: str, dim: int) -> tuple[int, float]:
    h = zlib.crc32(feature.encode("utf-8", "replace"))
    return h % dim, 1.0 if (h >> 31) & 1 else -1.0
