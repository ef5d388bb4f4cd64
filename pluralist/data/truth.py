"""The ground truth beside a synthetic benchmark (.truth.json): the true probability
of each comparison's recorded label, by comparison id. Read and checked in full, so a
damaged or foreign file is one located error rather than a crash or a silent skip."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

from ..errors import DataError


def read_truth(path: str | Path, *, ids: Iterable[str] | None = None) -> dict[str, float]:
    """p_chosen by comparison id; with `ids`, each of them must be there."""
    source = str(path)
    p_chosen = _load(Path(path)).get("p_chosen")
    if not isinstance(p_chosen, dict):
        raise DataError("expected an object 'p_chosen' of probabilities by comparison id",
                        source=source, field="p_chosen")
    for key, value in p_chosen.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not 0 <= value <= 1:
            raise DataError(f"expected a probability in [0, 1], got {value!r}"[:120],
                            source=source, where=f"id {key!r}", field="p_chosen")
    for key in ids if ids is not None else ():
        if key not in p_chosen:
            raise DataError(f"no probability for comparison id {key!r}: the truth is "
                            "for other data", source=source, field="p_chosen")
    return {key: float(value) for key, value in p_chosen.items()}


def _load(path: Path) -> dict:
    if not path.is_file():
        raise DataError("no such file", source=str(path))
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise DataError(f"undecodable bytes (not UTF-8) at byte {err.start}",
                        source=str(path)) from None
    except json.JSONDecodeError as err:
        raise DataError(f"malformed JSON ({err.msg} at line {err.lineno} column {err.colno})",
                        source=str(path)) from None
    except RecursionError:
        raise DataError("malformed JSON (nested too deeply)", source=str(path)) from None
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, got {type(record).__name__}", source=str(path))
    return record
