"""Where pluralist keeps what it computes once: $PLURALIST_CACHE, or ~/.cache/pluralist.

A module of its own, importing nothing of the package, so that the embedding cache
(cache.py, ROOT/embeddings) and the ONNX export (onnx.py, ROOT/onnx) read the same
root without importing each other.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("PLURALIST_CACHE", Path.home() / ".cache" / "pluralist"))
