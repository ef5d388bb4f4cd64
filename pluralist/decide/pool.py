"""The files of an elicitation: the pool of candidate comparisons, embedded once, and
the answers a rater has given so far.

A pool is a JSONL file (or CSV/Parquet with the same columns), one object a line, of
either kind:

    {"prompt": "...", "response_a": "...", "response_b": "..."}   one candidate pair
    {"prompt": "...", "responses": ["...", "...", "..."]}          all pairs within the prompt

`prompt` and `id` are optional; `chosen`/`rejected` are read as `response_a`/
`response_b` (a comparison file is a pool: its labels are ignored). The same pair
(same prompt, the same two texts in either order) is one candidate however often it
appears. A pair with the same text on both sides is refused, naming line and field.

Embedding a pool takes every distinct text once through the encoder's cache; after
that, everything a strategy needs is in `Candidates` (the pair designs of a linear
family, unit difference vectors for diversity), so choosing the next query is a few
matrix products over the pool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.io import iter_records
from ..data.records import FieldReader
from ..data.table import ComparisonTable
from ..encode import EmbeddingCache, compose_text
from ..errors import DataError
from ..models import LinearRaterModel, PreferenceModel
from ..models.data import UNKNOWN_RATER, Batch

DESIGN_CHUNK = 8192   # pool rows per pass of a family's pair design


def pair_key(prompt: str, a: str, b: str) -> tuple[str, frozenset]:
    """One candidate whatever order its responses are in."""
    return prompt, frozenset((a, b))


@dataclass(frozen=True)
class Pool:
    """N candidate pairs: prompt, response_a, response_b and id of each, (N,) lists."""

    prompt: list[str]
    a: list[str]
    b: list[str]
    id: list[str]

    def __len__(self) -> int:
        return len(self.a)

    def keys(self) -> list[tuple[str, frozenset]]:
        return [pair_key(p, a, b) for p, a, b in zip(self.prompt, self.a, self.b)]


def read_pool(path) -> Pool:
    """Every candidate of a pool file, checked in full, duplicates dropped."""
    prompt, a, b, ids, seen = [], [], [], [], set()
    for where, record in iter_records(path):
        reader = FieldReader(record, source=str(path), where=where)
        for pair in _row_pairs(reader, where):
            key = pair_key(*pair[:3])
            if key not in seen:
                seen.add(key)
                for column, value in zip((prompt, a, b, ids), pair):
                    column.append(value)
    if not a:
        raise DataError("holds no candidate pair", source=str(path))
    return Pool(prompt, a, b, ids)


def _row_pairs(reader: FieldReader, where: str) -> list[tuple[str, str, str, str]]:
    """(prompt, a, b, id) of each candidate on one pool line."""
    prompt = reader.text("prompt", required=False)
    row_id = reader.identifier("id", required=False, default=where)
    if reader.present("responses"):
        texts = reader.record["responses"]
        if not isinstance(texts, list) or len(texts) < 2 or not all(isinstance(t, str) for t in texts):
            reader.fail("responses", "expected a list of at least two texts")
        for i, text in enumerate(texts):
            if not text.strip():
                reader.fail(f"responses[{i}]", "empty text")
            if text in texts[:i]:
                reader.fail(f"responses[{i}]", f"the same text as responses[{texts.index(text)}]")
        return [(prompt, x, y, f"{row_id}:{i}-{j}") for i, x in enumerate(texts)
                for j, y in enumerate(texts) if i < j]
    names = ("response_a", "response_b") if reader.present("response_a") else ("chosen", "rejected")
    first, second = (reader.text(name) for name in names)
    if first == second:
        reader.fail(names[1], f"the same text as {names[0]}: nothing to choose between")
    return [(prompt, first, second, row_id)]


@dataclass(frozen=True, eq=False)
class Candidates:
    """A pool embedded for one model: vectors (T, D) of distinct texts; a_rows, b_rows,
    prompt_rows (N,); for a linear family the pair designs offset (N,) and design (N, K);
    directions (N, D): unit differences of the two responses, for diversity."""

    pool: Pool
    vectors: torch.Tensor
    a_rows: torch.Tensor
    b_rows: torch.Tensor
    prompt_rows: torch.Tensor
    offset: np.ndarray | None = None
    design: np.ndarray | None = None
    directions: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __len__(self) -> int:
        return len(self.a_rows)

    def batch(self, rows, outcomes=None) -> Batch:
        """Candidates `rows` as comparisons, response a chosen unless `outcomes` says
        otherwise ("a", "b" or "tie" per row; a tie keeps a first)."""
        rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
        outcomes = ["a"] * len(rows) if outcomes is None else list(outcomes)
        b_won = torch.tensor([o == "b" for o in outcomes], dtype=torch.bool)
        a, b = self.a_rows[rows], self.b_rows[rows]
        chosen, rejected = torch.where(b_won, b, a), torch.where(b_won, a, b)
        n = len(rows)
        return Batch(self.vectors[chosen], self.vectors[rejected], self.prompt_rows[rows], self.vectors,
                     torch.full((n,), UNKNOWN_RATER), torch.tensor([o == "tie" for o in outcomes],
                                                                    dtype=torch.bool),
                     torch.zeros(n), torch.ones(n))


def embed_pool(pool: Pool, model: PreferenceModel, cache: EmbeddingCache) -> Candidates:
    """Embed every distinct text of the pool once (through the cache) as the model's
    text format composes it, and precompute what the strategies need."""
    fmt = model.text_format
    a_texts = [compose_text(p, a, fmt) for p, a in zip(pool.prompt, pool.a)]
    b_texts = [compose_text(p, b, fmt) for p, b in zip(pool.prompt, pool.b)]
    distinct = list(dict.fromkeys(a_texts + b_texts + pool.prompt))
    position = {text: i for i, text in enumerate(distinct)}
    rows = lambda texts: torch.tensor([position[t] for t in texts], dtype=torch.long)
    vectors = torch.from_numpy(np.ascontiguousarray(cache.embed(distinct)))
    a_rows, b_rows = rows(a_texts), rows(b_texts)
    difference = (vectors[a_rows] - vectors[b_rows]).numpy()   # float32: one product per choice
    directions = difference / np.clip(np.linalg.norm(difference, axis=1, keepdims=True), 1e-12, None)
    candidates = Candidates(pool, vectors, a_rows, b_rows, rows(pool.prompt), directions=directions)
    if not isinstance(model, LinearRaterModel):
        return candidates
    offset, design = pool_design(model, candidates)
    return Candidates(pool, vectors, a_rows, b_rows, candidates.prompt_rows, offset, design, directions)


def pool_design(model: LinearRaterModel, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """(offset (N,), design (N, K)) of every candidate, a chosen: d = offset + design theta."""
    offsets, designs = [], []
    with torch.no_grad():
        for start in range(0, len(candidates), DESIGN_CHUNK):
            rows = np.arange(start, min(start + DESIGN_CHUNK, len(candidates)))
            offset, design = model.pair_design(candidates.batch(rows))
            offsets.append(offset.double().numpy())
            designs.append(design.double().numpy())
    return np.concatenate(offsets), np.concatenate(designs)


# --- answers ---------------------------------------------------------------------------

ANSWER_ENCODER_FIELD = "encoder_id"   # recorded on each answer row written by `elicit`


def answer_record(rater: str, prompt: str, a: str, b: str, outcome: str, encoder_id: str,
                  row_id: str) -> dict:
    """One answer as a row in TRL's preference format with the rater column; a tie
    keeps response a as `chosen`. `chosen_first`: response a was shown first."""
    chosen, rejected = (b, a) if outcome == "b" else (a, b)
    record = {"prompt": prompt, "chosen": chosen, "rejected": rejected, "rater": rater, "id": row_id,
              "chosen_first": outcome != "b", ANSWER_ENCODER_FIELD: encoder_id}
    if outcome == "tie":
        record["tie"] = True
    return record


def check_answer_encoders(path, encoder_id: str) -> None:
    """Refuse an answers file whose rows were elicited with another encoder's embeddings
    (rows without the field are plain comparisons and accepted)."""
    for where, record in iter_records(path):
        found = record.get(ANSWER_ENCODER_FIELD) if isinstance(record, dict) else None
        if found is not None and found != encoder_id:
            raise DataError(f"elicited with embeddings from {found!r}, but the model uses "
                            f"{encoder_id!r}; use the model these answers were given to, or a new "
                            "answers file", source=str(path), where=where, field=ANSWER_ENCODER_FIELD)


def answered_keys(table: ComparisonTable, rater: str) -> set:
    """The pairs `rater` has answered in `table` (in either order)."""
    rows = np.flatnonzero(table.rater == rater)
    return {pair_key(table.prompt[i], table.chosen[i], table.rejected[i]) for i in rows}


def appended_text(path: Path, record: dict) -> str:
    """The answers file's text with one more line (a missing final newline added first)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    return text + json.dumps(record, ensure_ascii=False) + "\n"


def profile_path_for(answers: Path) -> Path:
    """PROFILE.json beside ANSWERS.jsonl: answers.jsonl -> answers.profile.json."""
    return answers.with_name(answers.name.removesuffix(".jsonl") + ".profile.json")


def check_elicit_outputs(answers: Path, profile: Path) -> None:
    """Refuse, before any work, outputs that elicitation must not touch: answers that
    are not JSONL (answers are appended as lines), and a profile path holding anything
    but a previous profile document (a user's file is never replaced)."""
    if not answers.name.endswith(".jsonl"):
        raise DataError("answers are appended as JSON lines: name a .jsonl file", source=str(answers))
    for path in (answers, profile):
        if path.exists() and not path.is_file():
            raise DataError("exists and is not a file", source=str(path))
    if profile.exists():
        try:
            doc = json.loads(profile.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            doc = None
        if not (isinstance(doc, dict) and "model_identity" in doc and "profiles" in doc):
            raise DataError("holds something other than a pluralist profile document; refusing to "
                            "replace it (name another --profile)", source=str(profile))
