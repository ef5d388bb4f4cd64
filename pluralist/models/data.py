"""PreferenceData: comparisons as tensors of embedding indices, and minibatches of them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data.table import ComparisonTable
from ..encode.embed import TableEmbeddings

UNKNOWN_RATER = -1
EVAL_BATCH = 8192  # rows per batch when nothing is trained: memory, not convergence, decides
_PAIR_SIGNS = torch.tensor([1.0, -1.0])   # embedding_bag weights of (chosen, rejected)


@dataclass(frozen=True, eq=False)
class Batch:
    chosen: torch.Tensor     # (B, D) embeddings
    rejected: torch.Tensor   # (B, D)
    prompt_rows: torch.Tensor  # (B,) rows of `vectors` holding each prompt's embedding
    vectors: torch.Tensor    # (T, D) the table the prompt rows index
    rater: torch.Tensor      # (B,) long, UNKNOWN_RATER when not in the vocabulary
    tie: torch.Tensor        # (B,) bool
    strength: torch.Tensor   # (B,) float
    weight: torch.Tensor     # (B,) float

    def __len__(self) -> int:
        return len(self.rater)

    @functools.cached_property
    def prompt(self) -> torch.Tensor:
        """(B, D) prompt embeddings, gathered only by the families that use them."""
        return self.vectors[self.prompt_rows]

    def swapped(self) -> "Batch":
        """The same comparisons with every label reversed."""
        return Batch(self.rejected, self.chosen, self.prompt_rows, self.vectors, self.rater,
                     self.tie, self.strength, self.weight)


@dataclass(frozen=True, eq=False)
class PreferenceData:
    vectors: torch.Tensor    # (T, D) float32, distinct texts
    chosen: torch.Tensor     # (N,) long rows of vectors
    rejected: torch.Tensor   # (N,)
    prompt: torch.Tensor     # (N,)
    rater: torch.Tensor      # (N,) long index into `raters`, or UNKNOWN_RATER
    tie: torch.Tensor
    strength: torch.Tensor
    weight: torch.Tensor
    raters: tuple[str, ...]  # the rater vocabulary
    encoder_id: str = "unknown"
    text_format: str = "response"

    @classmethod
    def from_table(cls, table: ComparisonTable, emb: TableEmbeddings,
                   raters: tuple[str, ...] | None = None) -> "PreferenceData":
        """`raters` fixes the vocabulary (a trained model's); others become UNKNOWN_RATER."""
        raters = tuple(raters if raters is not None else table.raters)
        index = {r: i for i, r in enumerate(raters)}
        rater = np.array([index.get(r, UNKNOWN_RATER) for r in table.rater], dtype=np.int64)
        return cls(torch.from_numpy(np.ascontiguousarray(emb.vectors)),
                   torch.from_numpy(emb.chosen), torch.from_numpy(emb.rejected),
                   torch.from_numpy(emb.prompt), torch.from_numpy(rater),
                   torch.from_numpy(table.tie.copy()),
                   torch.from_numpy(table.strength.astype(np.float32)),
                   torch.from_numpy(table.weight.astype(np.float32)),
                   raters, emb.encoder_id, emb.text_format)

    @classmethod
    def from_arrays(cls, vectors, chosen, rejected, rater, *, n_raters: int | None = None,
                    prompt=None, tie=None, strength=None) -> "PreferenceData":
        """Direct construction from index arrays, for simulations and tests."""
        chosen = torch.as_tensor(chosen, dtype=torch.long)
        n = len(chosen)
        rater = torch.as_tensor(rater, dtype=torch.long)
        n_raters = n_raters if n_raters is not None else int(rater.max()) + 1
        zeros = torch.zeros(n, dtype=torch.long)
        return cls(torch.as_tensor(vectors, dtype=torch.float32), chosen,
                   torch.as_tensor(rejected, dtype=torch.long),
                   zeros if prompt is None else torch.as_tensor(prompt, dtype=torch.long), rater,
                   torch.zeros(n, dtype=torch.bool) if tie is None else torch.as_tensor(tie),
                   torch.zeros(n) if strength is None else torch.as_tensor(strength, dtype=torch.float32),
                   torch.ones(n), tuple(f"r{i}" for i in range(n_raters)))

    def __len__(self) -> int:
        return len(self.chosen)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def batch(self, rows) -> Batch:
        rows = torch.as_tensor(rows, dtype=torch.long)
        return Batch(self.vectors[self.chosen[rows]], self.vectors[self.rejected[rows]],
                     self.prompt[rows], self.vectors, self.rater[rows], self.tie[rows],
                     self.strength[rows], self.weight[rows])

    def batches(self, rows, size: int = EVAL_BATCH):
        """The rows as consecutive batches of at most `size` (for passes without gradients)."""
        for start in range(0, len(rows), size):
            yield self.batch(rows[start:start + size])

    def differences(self, rows: torch.Tensor) -> torch.Tensor:
        """(len(rows), D) chosen - rejected of these rows (long). One embedding_bag pass
        (weights +1, -1) reads both rows and writes one: random rows of a table far larger
        than the caches cost their memory latency once instead of twice. Equal in value to
        the subtraction (0 + c - r rounds once, as c - r does; only a zero's sign may differ)."""
        pairs = torch.stack([torch.index_select(self.chosen, 0, rows),
                             torch.index_select(self.rejected, 0, rows)], 1)
        return F.embedding_bag(pairs, self.vectors, mode="sum",
                               per_sample_weights=_PAIR_SIGNS.expand(len(rows), 2))

    def streamed_batches(self, rows, size: int = EVAL_BATCH, *, differences: bool = False):
        """(rows, batch) for consecutive runs of at most `size` rows, the embeddings gathered
        into two (size, D) buffers reused from batch to batch: a batch is valid only until
        the next one is drawn (the training loop's use). A fresh (B, D) tensor per batch
        costs its page faults and allocation every step; index_select into a buffer is one
        pass over the rows read, and no per-row Python object is ever made.

        differences: `chosen` holds chosen - rejected (`differences`) and `rejected` zeros,
        for a model whose loss reads only their difference (trains_on_differences)."""
        rows = np.asarray(rows)
        size = max(1, min(size, len(rows)))
        if differences:   # embedding_bag writes a fresh tensor: only the zeros are a buffer
            rejected_buffer = torch.zeros(size, self.dim)
        else:
            chosen_buffer, rejected_buffer = torch.empty(size, self.dim), torch.empty(size, self.dim)
        for start in range(0, len(rows), size):
            picked = rows[start:start + size]
            index = torch.from_numpy(np.ascontiguousarray(picked, dtype=np.int64))
            n = len(index)
            if differences:
                chosen = self.differences(index)
                rejected = rejected_buffer[:n]
            else:
                chosen = torch.index_select(self.vectors, 0, torch.index_select(self.chosen, 0, index),
                                            out=chosen_buffer[:n])
                rejected = torch.index_select(self.vectors, 0, torch.index_select(self.rejected, 0, index),
                                              out=rejected_buffer[:n])
            small = (torch.index_select(t, 0, index) for t in (self.prompt, self.rater, self.tie,
                                                                self.strength, self.weight))
            yield picked, Batch(chosen, rejected, next(small), self.vectors, *small)

    def rows_by_rater(self, rows) -> dict[int, np.ndarray]:
        rows = np.asarray(rows)
        raters = self.rater.numpy()[rows]
        order = np.argsort(raters, kind="stable")
        keys, starts = np.unique(raters[order], return_index=True)
        return dict(zip(keys.tolist(), np.split(rows[order], starts[1:])))
