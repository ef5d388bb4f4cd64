"""Readers and writers for comparison files: JSONL, CSV, Parquet, HF datasets.

Readers yield located raw records; `records.table_from_records` validates them.
Writers emit TRL's preference format plus the rater column, atomically.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_path
from .records import Located, table_from_records
from .table import ComparisonTable

FORMATS = ("jsonl", "csv", "parquet")


def detect_format(path: str | Path) -> str:
    name = str(path).lower().removesuffix(".gz")
    for suffix, fmt in ((".jsonl", "jsonl"), (".json", "jsonl"), (".csv", "csv"),
                        (".parquet", "parquet")):
        if name.endswith(suffix):
            return fmt
    raise DataError("unknown file type (expected one of .jsonl .csv .parquet)", source=str(path))


def iter_records(path: str | Path) -> Iterator[Located]:
    """Raw (where, record) pairs of any supported file."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    readers = {"jsonl": _iter_jsonl, "csv": _iter_csv, "parquet": _iter_parquet}
    return readers[detect_format(path)](path)


def read_comparisons(path: str | Path, *, rater_column: str | None = None) -> ComparisonTable:
    """Read and validate a comparison file in any TRL preference format. `rater_column`
    None: 'rater' where the file has it, else one population (records.rater_column_for)."""
    return table_from_records(iter_records(path), source=str(path), rater_column=rater_column)


def from_dataset(dataset, *, rater_column: str | None = None, name: str = "dataset") -> ComparisonTable:
    """A Hugging Face `datasets.Dataset` (or any iterable of dicts) as a table."""
    rows = ((f"row {i + 1}", dict(record)) for i, record in enumerate(dataset))
    return table_from_records(rows, source=name, rater_column=rater_column)


def read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:   # zlib.error: a corrupt deflate stream
            raise DataError(f"not a readable gzip file ({err})", source=str(path)) from None
    if not data.strip():
        raise DataError("empty file", source=str(path))
    return data


def decode_text(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataError(f"undecodable bytes (not UTF-8) at byte {err.start}",
                        source=str(path), where=f"line {line}") from None


def _iter_jsonl(path: Path) -> Iterator[Located]:
    text = decode_text(read_bytes(path), path)
    # Lines end at "\n" only: str.splitlines() also breaks at U+2028, U+2029 and U+0085,
    # which JSON strings may hold as they are.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"malformed JSON ({err.msg} at column {err.colno})",
                            source=str(path), where=f"line {number}") from None
        yield f"line {number}", record


def _iter_csv(path: Path) -> Iterator[Located]:
    text = decode_text(read_bytes(path), path)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    previous_end = 1  # the header; a record starts on the line after the previous one ends
    try:
        for record in reader:
            where = f"line {previous_end + 1}"
            if None in record or any(v is None for v in record.values()):
                raise DataError(f"expected {len(reader.fieldnames)} fields as in the header",
                                source=str(path), where=where)
            yield where, record
            previous_end = reader.line_num
    except csv.Error as err:
        raise DataError(f"malformed CSV ({err})", source=str(path),
                        where=f"line {previous_end + 1}") from None


def _iter_parquet(path: Path) -> Iterator[Located]:
    import pyarrow.parquet as pq

    read_bytes(path)  # uniform empty-file error
    try:
        records = pq.read_table(path).to_pylist()
    except Exception as err:  # pyarrow raises several unrelated types
        raise DataError(f"not a readable Parquet file ({type(err).__name__})",
                        source=str(path)) from None
    for number, record in enumerate(records, start=1):
        yield f"row {number}", record


_OPTIONAL_DEFAULTS = {"tie": False, "strength": 0.0, "weight": 1.0, "group": "", "chosen_first": -1}
_TRL_NAMES = {"strength": "margin"}  # TRL's RewardTrainer reads a margin column


def trl_records(table: ComparisonTable, *, rater_column: str = "rater") -> list[dict]:
    """Rows in TRL's standard preference format; optional columns only when used."""
    columns = table.columns()
    used = {name: columns[name] for name, default in _OPTIONAL_DEFAULTS.items()
            if np.any(columns[name] != default)}
    out = []
    for i in range(len(table)):
        row = {"prompt": table.prompt[i], "chosen": table.chosen[i],
               "rejected": table.rejected[i], rater_column: table.rater[i], "id": table.id[i]}
        row.update({_TRL_NAMES.get(name, name): _plain(col[i]) for name, col in used.items()})
        if "chosen_first" in row:   # a flag where recorded, null where not
            row["chosen_first"] = None if row["chosen_first"] < 0 else bool(row["chosen_first"])
        out.append(row)
    return out


def _plain(value):
    """numpy scalars to Python ones, for JSON and Arrow."""
    return value.item() if isinstance(value, np.generic) else value


def check_output_format(path: str | Path) -> str:
    """The format `write_comparisons` would write to `path`, or a one-line refusal."""
    fmt = detect_format(path) if str(path).lower().endswith(WRITABLE) else None
    if fmt is None:
        raise DataError(f"can only write {', '.join(WRITABLE)}", source=str(path))
    return fmt


WRITABLE = (".jsonl", ".jsonl.gz", ".json", ".parquet")


def write_comparisons(table: ComparisonTable, path: str | Path, *,
                      rater_column: str = "rater") -> None:
    """Write JSONL (gzipped where the name ends in .gz) or Parquet (by suffix), atomically."""
    fmt = check_output_format(path)
    records = trl_records(table, rater_column=rater_column)
    with atomic_path(path) as tmp:
        if fmt == "jsonl":
            opener = gzip.open if str(path).lower().endswith(".gz") else open
            with opener(tmp, "wt", encoding="utf-8") as handle:
                for record in records:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(records), tmp)
