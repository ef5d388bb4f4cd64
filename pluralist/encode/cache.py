"""EmbeddingCache: content-addressed, memory-mapped, crash-safe.

Layout: ROOT/<encoder-key>/ holds shards. A shard is a pair of files
`<name>.npy` (float32 vectors, (n, dim)) and `<name>.keys.npy` (uint8 (n, 32),
the SHA-256 of each text). The keys file is renamed into place last and is the
shard's commit mark: an interrupted run leaves at most a vectors file without
keys (ignored) or a temporary file (ignored), never a corrupt entry. Shards
are written every `flush_every` new texts, so a long run keeps its progress.
Runs that embed into one encoder directory take turns (an exclusive lock on its
`.lock` file): a second run waits, then embeds only what the first did not.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_path
from .base import Encoder
from .engine import EngineSpec, ray_blocks
from .paths import cache_root

try:
    import fcntl
except ImportError:   # no advisory locks here (Windows): concurrent runs may both embed
    fcntl = None

log = logging.getLogger("pluralist")


def default_cache_dir() -> Path:
    return cache_root() / "embeddings"


def check_cache_root(root: str | Path | None = None) -> Path:
    """The cache root (default: default_cache_dir()), refused in one line, before any
    work, where a file stands at it or above it."""
    path = Path(root) if root else default_cache_dir()
    origin = "" if root else " (from PLURALIST_CACHE)" if "PLURALIST_CACHE" in os.environ else ""
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                raise DataError(f"{place} is a file, not a directory",
                                source=f"embedding cache {path}{origin}")
            break
    return path


@dataclass
class EmbedStats:
    texts: int = 0      # distinct texts asked for
    hits: int = 0       # found in the cache
    embedded: int = 0   # newly computed
    seconds: float = 0.0

    @property
    def texts_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else float("nan")


class EmbeddingCache:
    def __init__(self, encoder: Encoder, root: str | Path | None = None, *,
                 flush_every: int = 2048, progress: bool = False,
                 engine: EngineSpec = EngineSpec(), encoder_name: str | None = None):
        self.encoder, self.flush_every, self.progress = encoder, flush_every, progress
        # the Ray engine's actors build the encoder again by name (a concrete variant)
        self.engine, self.encoder_name = engine, encoder_name
        self.dir = check_cache_root(root) / _safe_name(encoder.id)
        self.last_stats = EmbedStats()
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._loaded: set[str] = set()   # key files already indexed
        self._load_index()

    def __len__(self) -> int:
        return len(self._index)

    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 (len(texts), dim); each distinct text is encoded at most once, ever."""
        keys = [_key(t) for t in texts]
        by_key = dict(zip(keys, texts))
        started = time.perf_counter()
        embedded = self._embed_missing(by_key)
        self.last_stats = EmbedStats(texts=len(by_key), hits=len(by_key) - embedded,
                                     embedded=embedded, seconds=time.perf_counter() - started)
        return self._gather(keys)

    def _embed_missing(self, by_key: dict[bytes, str]) -> int:
        """Embed the texts the cache lacks, holding the directory's lock; how many."""
        if all(key in self._index for key in by_key):
            return 0
        self.dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.dir / ".lock"):
            self._load_index()   # what another run embedded while this one waited
            missing = [key for key in by_key if key not in self._index]
            self._encode_and_store([by_key[key] for key in missing], missing)
        return len(missing)

    def _encode_and_store(self, texts: list[str], keys: list[bytes]) -> None:
        if not texts:
            return
        if self.engine.engine == "ray":
            self._store_from_ray(texts, keys)
            return
        with _progress(len(texts), self.progress, self.encoder.id) as advance:
            for start in range(0, len(texts), self.flush_every):
                chunk = texts[start:start + self.flush_every]
                vectors = np.concatenate([self._encode_piece(piece, advance)
                                          for piece in _pieces(chunk, _PROGRESS_STEP)])
                self._write_shard(keys[start:start + self.flush_every], vectors)

    def _store_from_ray(self, texts: list[str], keys: list[bytes]) -> None:
        """Each block a shard as soon as an actor finishes it (see engine.py)."""
        if self.encoder_name is None:
            raise ValueError("the Ray engine needs the encoder's name")
        with _progress(len(texts), self.progress, self.encoder.id) as advance:
            for start, vectors in ray_blocks(self.engine, self.encoder_name, self.encoder.id, texts):
                self._write_shard(keys[start:start + len(vectors)], vectors)
                advance(len(vectors))

    def _encode_piece(self, texts: list[str], advance) -> np.ndarray:
        vectors = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        advance(len(texts))
        return vectors

    def _gather(self, keys: list[bytes]) -> np.ndarray:
        out = np.empty((len(keys), self.encoder.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            shard, row = self._index[key]
            out[i] = self._shards[shard][row]
        return out

    def _write_shard(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if not np.all(np.isfinite(vectors)):
            raise ValueError(f"encoder {self.encoder.id} produced non-finite vectors")
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        with atomic_path(self.dir / f"{name}.npy") as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, vectors)
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
        with atomic_path(self.dir / f"{name}.keys.npy") as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, key_array)
        self._loaded.add(f"{name}.keys.npy")
        self._add_shard(np.load(self.dir / f"{name}.npy", mmap_mode="r"), key_array)

    def _load_index(self) -> None:
        """Index every committed shard not indexed yet (a damaged one is skipped)."""
        for key_file in sorted(self.dir.glob("*.keys.npy")):
            if key_file.name in self._loaded:
                continue
            vector_file = key_file.with_name(key_file.name.removesuffix(".keys.npy") + ".npy")
            try:
                keys = np.load(key_file)
                vectors = np.load(vector_file, mmap_mode="r")
            except (OSError, ValueError):
                continue  # a damaged shard is skipped and its texts embedded again
            if vectors.shape != (len(keys), self.encoder.dim):
                continue
            self._loaded.add(key_file.name)
            self._add_shard(vectors, keys)

    def _add_shard(self, vectors: np.ndarray, keys: np.ndarray) -> None:
        shard = len(self._shards)
        self._shards.append(vectors)
        for row, key in enumerate(keys):
            self._index.setdefault(key.tobytes(), (shard, row))


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    """Hold an exclusive lock on `lock_path`, saying once when another run holds it.
    The system drops the lock when its holder exits, so a killed run leaves none."""
    if fcntl is None:
        yield
        return
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning("%s: another run is embedding into this cache; waiting for it, "
                        "then embedding only what it did not", lock_path.parent)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_PROGRESS_STEP = 256  # texts per encoder call, so the bar moves smoothly


def _pieces(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _safe_name(encoder_id: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", encoder_id)[:60]
    return f"{readable}-{hashlib.sha256(encoder_id.encode()).hexdigest()[:10]}"


class _progress:
    """A rich progress bar with texts/s, or nothing when not wanted."""

    def __init__(self, total: int, enabled: bool, label: str):
        self.total, self.enabled, self.label = total, enabled, label

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)

        self._bar = Progress(TextColumn("embedding"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[rate]}"),
                             TimeRemainingColumn(), transient=False)
        self._bar.start()
        self._task = self._bar.add_task("embed", total=self.total, rate="")
        self._start = time.perf_counter()
        return self._advance

    def _advance(self, n: int) -> None:
        done = self._bar.tasks[0].completed + n
        rate = done / max(time.perf_counter() - self._start, 1e-9)
        self._bar.update(self._task, advance=n, rate=f"{rate:6.0f} texts/s")

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.stop()
        return False
