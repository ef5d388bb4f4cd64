"""Where texts are embedded: in this process (local), or by Ray actors across a cluster.

The cache (cache.py) hands an engine the distinct texts it lacks; the engine yields
finished blocks of vectors in whatever order they finish, and the cache commits each
block as a shard at once. So a killed run loses at most the blocks in flight, and a
rerun embeds only what is missing. Nothing here imports Ray unless the Ray engine is
asked for (Moritz et al., 2018, "Ray: a distributed framework for emerging AI
applications").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import EncoderError

ENGINES = ("local", "ray")
IN_FLIGHT_PER_WORKER = 2   # one block computing and one queued, so no actor waits on the driver
# The last actors started, kept for the process: each loads the encoder (seconds), so a
# second embedding in the same process (a workflow's next step, a benchmark round) reuses
# them. Only one pool lives at a time: idle actors of another encoder would hold the CPUs
# that new ones need.
_pools: dict[tuple, list] = {}


@dataclass(frozen=True)
class EngineSpec:
    """engine 'local' or 'ray'; for Ray, the cluster's address (None: start a local
    cluster), the number of actors (None: one per CPU the cluster has), GPUs per actor,
    and the texts per block."""

    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0
    block_size: int = 1000

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise EncoderError(f"unknown engine {self.engine!r}; choose from {ENGINES}")
        if self.engine == "local" and (self.address or self.workers or self.gpus_per_worker):
            raise EncoderError("--address, --workers and --gpus-per-worker need --engine ray")
        if self.block_size < 1 or (self.workers is not None and self.workers < 1):
            raise EncoderError("--workers and the block size must be at least 1")
        if self.gpus_per_worker < 0:
            raise EncoderError(f"--gpus-per-worker must be >= 0, got {self.gpus_per_worker:g}")


def blocks_of(texts: list[str], size: int) -> list[tuple[int, list[str]]]:
    """(start, texts) of consecutive blocks of at most `size` texts."""
    return [(start, texts[start:start + size]) for start in range(0, len(texts), size)]


def ray_blocks(spec: EngineSpec, encoder_name: str, encoder_id: str, texts: list[str]
               ) -> Iterator[tuple[int, np.ndarray]]:
    """(start, vectors) of each block as Ray actors finish it. Every actor builds the
    encoder by `encoder_name` once and must arrive at `encoder_id`, so vectors from
    another variant (another CPU's fast path, another model file) never enter the cache."""
    ray = _import_ray()
    _connect(ray, spec)
    workers = _start_workers(ray, spec, encoder_name, encoder_id)
    pending, queue = {}, blocks_of(texts, spec.block_size)[::-1]
    for worker in workers * IN_FLIGHT_PER_WORKER:
        if queue:
            pending[worker.embed.remote(*queue.pop())] = worker
    while pending:
        (done,), _ = ray.wait(list(pending), num_returns=1)
        worker = pending.pop(done)
        if queue:
            pending[worker.embed.remote(*queue.pop())] = worker
        yield _checked(ray, done)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise EncoderError("--engine ray needs Ray: pip install 'pluralist[ray]'") from None
    return ray


def _connect(ray, spec: EngineSpec) -> None:
    if ray.is_initialized():
        return
    if spec.address:
        ray.init(address=spec.address, log_to_driver=False, logging_level=logging.WARNING)
    else:   # a local cluster on this machine's CPUs
        ray.init(num_cpus=spec.workers, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)


def _start_workers(ray, spec: EngineSpec, encoder_name: str, encoder_id: str) -> list:
    count = spec.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    key = (ray.get_runtime_context().get_job_id(), encoder_name, encoder_id, count,
           spec.gpus_per_worker)
    if key not in _pools:
        _forget_workers(ray)
        worker_class = ray.remote(num_cpus=1, num_gpus=spec.gpus_per_worker)(EmbedWorker)
        _pools[key] = [worker_class.remote(encoder_name, encoder_id) for _ in range(count)]
    return _pools[key]


def _forget_workers(ray) -> None:
    """Ends the kept actors (after a failure they may be dead or refuse to work)."""
    for workers in _pools.values():
        for worker in workers:
            ray.kill(worker)
    _pools.clear()


def _checked(ray, ref) -> tuple[int, np.ndarray]:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:   # the actor's own error, as one line
        _forget_workers(ray)
        cause = err.cause if isinstance(err.cause, Exception) else err
        raise EncoderError(f"a Ray embedding worker failed: {str(cause).splitlines()[0]}") from None
    except ray.exceptions.RayActorError as err:
        _forget_workers(ray)
        raise EncoderError(f"a Ray embedding worker died: {str(err).splitlines()[0]}") from None


class EmbedWorker:
    """A Ray actor (wrapped by ray.remote in _start_workers): one encoder, many blocks."""

    def __init__(self, encoder_name: str, encoder_id: str):
        from .base import get_encoder

        # A refusal is kept and raised by `embed`: Ray reports an error of a task as
        # itself, but one of an actor's creation only as a long "actor died" message.
        self.encoder, self.refusal = None, None
        try:
            self.encoder = get_encoder(encoder_name)
        except EncoderError as err:
            self.refusal = err
        if self.encoder is not None and self.encoder.id != encoder_id:
            self.refusal = EncoderError(
                f"this worker's {encoder_name} is {self.encoder.id}, the driver's is "
                f"{encoder_id}: name the variant (e.g. --encoder minilm-exact)")

    def embed(self, start: int, texts: list[str]) -> tuple[int, np.ndarray]:
        if self.refusal is not None:
            raise self.refusal
        return start, np.asarray(self.encoder.encode(texts), dtype=np.float32)
