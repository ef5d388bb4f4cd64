"""A Parquet comparison file as integer codes, validated column by column (for `data check`).

`records.py` validates one Python dict per row; at ten million rows that costs
minutes and gigabytes. Here each batch of rows is checked with Arrow compute
kernels: every field gets a mask of rows that *may* be wrong (a superset of the
rows `FieldReader` refuses), and only flagged rows are handed to the per-row
code, in file order, so the first error is the very message the row reader
gives. Texts become global integer codes (one vocabulary across batches), so no
Python string is made per row. Layouts this module does not know (chat message
lists, unusual column types, gzipped files) return None: the caller then uses
the row reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .columnar_fields import FIELDS, column_kind, decode, flag_values, masks_for
from .records import FieldReader, comparison_from_record, rater_column_for
from .table import ANONYMOUS_RATER

# Rows read and validated at a time: Arrow allocates and frees a batch's buffers, and
# smaller batches fault in fewer fresh pages (the kernel's time dominated at 1M rows).
BATCH_ROWS = 1 << 17
# Rows whose texts get codes together. Each block is dictionary-encoded after the whole
# vocabulary, which is hashed again each time: fewer, larger blocks cost less time,
# smaller ones less memory (a block's texts are held until it is encoded).
BLOCK_ROWS = 1 << 20


@dataclass(frozen=True)
class CodedComparisons:
    """What `check_summary` needs, as dense integer codes (N,) per column.

    Equal codes mean equal strings, within a column; chosen and rejected share
    one vocabulary of `texts` codes."""

    rater: np.ndarray
    prompt: np.ndarray
    chosen: np.ndarray
    rejected: np.ndarray
    tie: np.ndarray          # (N,) bool
    raters: int
    prompts: int
    texts: int
    groups: list[str]        # sorted, without ""


class Vocabulary:
    """Values seen so far -> codes 0, 1, ...; lookups are Arrow hash kernels, not Python."""

    def __init__(self):
        self.values = None   # pyarrow Array of the distinct values, in code order

    def __len__(self) -> int:
        return 0 if self.values is None else len(self.values)

    def codes(self, chunks: list) -> np.ndarray:
        """(n,) int64 codes of the values of `chunks` (arrays without nulls, one type),
        adding unseen ones. One dictionary encoding of [vocabulary, *chunks]: its dictionary
        starts with the vocabulary itself, in order (distinct values keep their first
        position), so old codes stay and the dictionary is the new vocabulary."""
        import pyarrow as pa
        import pyarrow.compute as pc

        chunks = _one_type(chunks)
        known = [] if self.values is None else [self.values.cast(chunks[0].type)]
        encoded = pc.dictionary_encode(pa.chunked_array(known + chunks)).chunks
        self.values = encoded[0].dictionary
        return np.concatenate([c.indices.to_numpy(zero_copy_only=False)
                               for c in encoded[len(known):]]).astype(np.int64)


def coded_parquet(path: str, *, rater_column: str | None = None) -> CodedComparisons | None:
    """Read and validate a Parquet comparison file as codes; None where only the row
    reader can (then it must be used); DataError with the row reader's message."""
    if str(path).lower().endswith(".gz"):
        return None
    import pyarrow.parquet as pq

    location = str(Path(path))   # the row reader names read errors by the normalised path
    _require_content(Path(path))
    with _readable(location):
        # buffered reads: pre-buffering would hold a whole row group's bytes at once
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 22)
    schema = parquet.schema_arrow
    try:
        rater_field, error = _rater_field(parquet, rater_column, str(path)), None
    except DataError as err:
        rater_field, error = None, err
    names = [n for n in dict.fromkeys((*FIELDS, rater_field)) if n in schema.names]
    kinds = {name: column_kind(schema.field(name).type) for name in names}
    if any(kind is None for kind in kinds.values()):
        return None
    with _allocator():
        return _read(parquet, _Reader(path, kinds, rater_field), location, error)


def _read(parquet, reader, location: str, error: DataError | None) -> CodedComparisons:
    batches = parquet.iter_batches(batch_size=BATCH_ROWS, columns=list(reader.kinds))
    while True:
        with _readable(location):   # only Arrow's decoding: our own errors stay ours
            batch = next(batches, None)
        if batch is None:
            break
        if error is None:
            try:
                reader.add(batch)
            except DataError as err:
                error = err
    if error is not None:
        # raised only now: the row reader decodes the whole file before it validates,
        # so an undecodable later part is the error it reports
        raise error
    return reader.finish()


class _allocator:
    """Arrow allocates from jemalloc while reading, where pyarrow has it: with the default
    (mimalloc) the kernel's time, faulting in freshly mapped pages, was several times as
    long (the commit adding this has the figures)."""

    def __enter__(self):
        import pyarrow as pa

        self.previous = pa.default_memory_pool()
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except NotImplementedError:   # a pyarrow built without jemalloc
            pass

    def __exit__(self, *exc):
        import pyarrow as pa

        pa.set_memory_pool(self.previous)
        return False


def _require_content(path: Path) -> None:
    """The row reader's 'empty file' check (nothing but ASCII whitespace), reading only
    up to the first other byte rather than the whole file."""
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 16):
            if chunk.strip():
                return
    raise DataError("empty file", source=str(path))


class _readable:
    """Arrow's errors while opening or decoding, as the row reader words them."""

    def __init__(self, location: str):
        self.location = location

    def __enter__(self):
        return self

    def __exit__(self, kind, err, trace):
        if err is None or isinstance(err, DataError):
            return False
        raise DataError(f"not a readable Parquet file ({kind.__name__})",
                        source=self.location) from None


def _rater_field(parquet, rater_column: str | None, source: str) -> str | None:
    if parquet.metadata.num_rows == 0:
        raise DataError("no comparisons (empty file)", source=source)
    names = dict.fromkeys(parquet.schema_arrow.names)   # every row has every column
    return rater_column_for([("row 1", names)], rater_column, source=source)


class _Reader:
    """Validates batch by batch, and gives codes block by block."""

    def __init__(self, source: str, kinds: dict, rater_field: str | None):
        self.source, self.kinds, self.rater_field = str(source), kinds, rater_field
        self.rows = self.coded = 0   # rows read; rows with codes
        self.pending: list[dict] = []
        self.texts, self.prompts, self.raters = Vocabulary(), Vocabulary(), Vocabulary()
        self.parts: dict[str, list] = {"rater": [], "prompt": [], "chosen": [], "rejected": [],
                                       "tie": []}
        self.groups: set[str] = set()

    def add(self, batch) -> None:
        columns = {name: decode(batch.column(name)) for name in self.kinds}
        self._raise_first_error(batch, columns)
        n = batch.num_rows
        self.pending.append({"chosen": columns["chosen"], "rejected": columns["rejected"],
                             "prompt": _prompt(columns, self.kinds, n),
                             "rater": self._raters(columns, n)})
        self.parts["tie"].append(self._ties(columns, n))
        self._add_groups(columns)
        self.rows += n
        if self.rows - self.coded >= BLOCK_ROWS:
            self._code_block()

    def _code_block(self) -> None:
        # Not in a worker thread beside the reading: on the shared 2 cores that took more
        # CPU and memory and longer (the commit reverting it has the figures).
        self._encode(self.pending, self.rows - self.coded)
        self.pending, self.coded = [], self.rows

    def _encode(self, pending: list[dict], rows: int) -> None:
        block = {name: [part[name] for part in pending] for name in pending[0]}
        texts = self.texts.codes(block["chosen"] + block["rejected"])
        self.parts["chosen"].append(texts[:rows])
        self.parts["rejected"].append(texts[rows:])
        self.parts["prompt"].append(self.prompts.codes(block["prompt"]))
        self.parts["rater"].append(self.raters.codes(block["rater"]))

    def _raise_first_error(self, batch, columns) -> None:
        suspect = masks_for(columns, self.kinds, batch.num_rows, self.rater_field)
        for i in np.flatnonzero(suspect):
            record = batch.slice(int(i), 1).to_pylist()[0]
            reader = FieldReader(record, source=self.source, where=f"row {self.rows + i + 1}")
            comparison_from_record(reader, self.rater_field)   # raises the row reader's error
        # a flagged row that passes was a false alarm of a conservative mask

    def _raters(self, columns, n):
        if self.rater_field is None:
            return _constant(ANONYMOUS_RATER, n)
        return columns[self.rater_field]

    def _ties(self, columns, n) -> np.ndarray:
        if "tie" not in columns:
            return np.zeros(n, dtype=bool)
        return flag_values(columns["tie"], self.kinds["tie"])

    def _add_groups(self, columns) -> None:
        if "group" in columns and self.kinds["group"] != "null":
            import pyarrow.compute as pc

            values = pc.unique(columns["group"]).drop_null().to_pylist()
            self.groups.update(str(v) for v in values)

    def finish(self) -> CodedComparisons:
        if self.pending:
            self._code_block()
        joined = {name: np.concatenate(parts) for name, parts in self.parts.items()}
        return CodedComparisons(**joined, raters=len(self.raters), prompts=len(self.prompts),
                                texts=len(self.texts), groups=sorted(self.groups - {""}))


def _one_type(arrays: list) -> list:
    """Texts as large_string (a vocabulary may pass 2 GiB of text; the cast shares the
    text buffer, only the offsets widen); integer ids as they are."""
    import pyarrow as pa

    if pa.types.is_integer(arrays[0].type):
        return arrays
    return [a.cast(pa.large_string()) for a in arrays]


def _constant(value: str, n: int):
    import pyarrow as pa

    return pa.repeat(pa.scalar(value, pa.large_string()), n)


def _prompt(columns, kinds, n):
    """The prompt as the row reader keeps it: "" where absent (null or empty). Any other
    type than text was refused in `_raise_first_error`."""
    if kinds.get("prompt") != "text":
        return _constant("", n)
    return columns["prompt"].fill_null("")
