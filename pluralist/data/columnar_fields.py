"""Per-field masks of the rows `records.FieldReader` may refuse, over Arrow columns.

Each mask is a superset of the rows the row reader refuses for that field: a
flagged row is re-read by the row reader (which decides and words the error),
an unflagged row must be one it accepts. Columns of low cardinality in text form
(ties written "yes", numbers written as text) are checked by running the row
reader's own method once per distinct value, so their rules live in one place.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .records import FLOAT32_MAX, FieldReader

# The fields `comparison_from_record` reads besides the rater column, in its order.
FIELDS = ("chosen", "rejected", "prompt", "tie", "strength", "margin", "weight", "group",
          "id", "chosen_first")

# Every character for which Python's str.isspace() holds (a test checks the list):
# a text of only these is "empty text" to the row reader, which uses str.strip().
PYTHON_SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
                "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_BLANK = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in PYTHON_SPACE) + "]*$"


def column_kind(arrow_type) -> str | None:
    """text, integer, float, bool or null; None for a type only the row reader handles
    (chat message lists, structs, binary, dates ...)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    for kind, test in (("text", _is_text), ("integer", pa.types.is_integer),
                       ("float", pa.types.is_floating), ("bool", pa.types.is_boolean),
                       ("null", pa.types.is_null)):
        if test(arrow_type):
            return kind
    return None


def _is_text(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) \
        or pa.types.is_string_view(arrow_type)


def decode(array):
    """Dictionary-encoded columns as plain arrays (the values are what rows hold)."""
    import pyarrow as pa

    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array


def masks_for(columns: dict, kinds: dict, n: int, rater_field: str | None) -> np.ndarray:
    """(n,) bool: rows that may fail validation in any field."""
    def col(name):
        return columns.get(name), kinds.get(name)

    suspect = _required_text(*col("chosen"), n) | _required_text(*col("rejected"), n)
    suspect |= _optional_text(*col("prompt"), n) | _same_text(columns, kinds, n)
    if rater_field is not None:
        suspect |= _required_identifier(*col(rater_field), n)
    for name in ("tie", "chosen_first"):
        suspect |= _bad_flag(*col(name), n)
    strength_given = present(*col("strength"), n)
    suspect |= np.where(strength_given, _bad_number(*col("strength"), n, strict=False),
                        _bad_number(*col("margin"), n, strict=False))
    suspect |= _bad_number(*col("weight"), n, strict=True)
    for name in ("group", "id"):
        suspect |= _optional_identifier(*col(name), n)
    return suspect


def present(array, kind, n: int) -> np.ndarray:
    """FieldReader.present: not null and not an empty text."""
    if array is None or kind == "null":
        return np.zeros(n, dtype=bool)
    given = _numpy(array.is_valid())
    if kind == "text":
        import pyarrow.compute as pc

        given &= _numpy(pc.not_equal(array, "").fill_null(False))
    return given


def flag_values(array, kind) -> np.ndarray:
    """The booleans FieldReader.flag reads from a column it accepted."""
    import pyarrow.compute as pc

    if kind == "bool":
        return _numpy(array.fill_null(False))
    if kind in ("integer", "float"):
        return _numpy(pc.equal(array, 1).fill_null(False))
    if kind == "text":
        return _per_value(array, lambda reader: reader.flag("f"))
    return np.zeros(len(array), dtype=bool)


def _required_text(array, kind, n):
    if array is None or kind != "text":
        return np.ones(n, dtype=bool)   # missing, or not text: every row is refused
    return _numpy(array.is_null()) | _blank(array)


def _optional_text(array, kind, n):
    if array is None or kind == "null":
        return np.zeros(n, dtype=bool)
    if kind != "text":
        return _numpy(array.is_valid())
    return _blank(array) & present(array, kind, n)   # "  " is refused, "" is absent


def _same_text(columns, kinds, n):
    if kinds.get("chosen") != "text" or kinds.get("rejected") != "text":
        return np.zeros(n, dtype=bool)   # refused already as not text
    import pyarrow.compute as pc

    return _numpy(pc.equal(columns["chosen"], columns["rejected"]).fill_null(False))


def _required_identifier(array, kind, n):
    if kind == "integer":
        return _numpy(array.is_null())
    return _required_text(array, kind, n)


def _optional_identifier(array, kind, n):
    if array is None or kind in ("text", "integer", "null"):
        return np.zeros(n, dtype=bool)
    return _numpy(array.is_valid())   # a float or boolean id is refused as not text


def _bad_flag(array, kind, n):
    if array is None or kind in ("bool", "null"):
        return np.zeros(n, dtype=bool)
    if kind == "text":
        return _per_value(array, lambda reader: reader.flag("f"), refused=True)
    values = _numpy(array.fill_null(0)).astype(np.float64)
    # str(-0.0) is "-0.0", which the row reader does not take for false
    accepted = (values == 1) | ((values == 0) & ~np.signbit(values))
    return ~accepted


def _bad_number(array, kind, n, *, strict: bool):
    """FieldReader.number with minimum 0 (strength, margin: >= 0; weight: > 0)."""
    if array is None or kind == "null":
        return np.zeros(n, dtype=bool)
    if kind == "bool":
        return _numpy(array.is_valid())
    if kind == "text":
        return _per_value(array, lambda reader: reader.number("f", default=1.0, minimum=0.0,
                                                              strict=strict), refused=True)
    given = _numpy(array.is_valid())
    values = _numpy(array.fill_null(1)).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        single = values.astype(np.float32).astype(np.float64)   # as the models will hold it
        bad = ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX) \
            | (np.minimum(values, single) < 0)
        if strict:
            bad |= (values == 0) | (single == 0)
    return bad & given


def _blank(array) -> np.ndarray:
    """Texts of only PYTHON_SPACE (or empty). The regular expression runs only on texts
    that are empty or start with a byte that can begin a space (ASCII space, or any
    non-ASCII byte): run on every row it was most of the validation's time."""
    import pyarrow.compute as pc

    candidates = np.flatnonzero(_may_be_blank(array))
    blank = np.zeros(len(array), dtype=bool)
    if len(candidates):
        blank[candidates] = _numpy(pc.match_substring_regex(array.take(candidates), _BLANK)
                                   .fill_null(False))
    return blank


_STARTS_SPACE = np.zeros(256, dtype=bool)
_STARTS_SPACE[[ord(c) for c in PYTHON_SPACE if ord(c) < 128]] = True
_STARTS_SPACE[128:] = True   # the first byte of every non-ASCII character


def _may_be_blank(array) -> np.ndarray:
    """(n,) bool, from the offsets and first bytes of a string array's buffers."""
    import pyarrow as pa

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return np.ones(len(array), dtype=bool)
    _, offsets_buffer, data_buffer = array.buffers()
    width = np.int32 if pa.types.is_string(array.type) else np.int64
    offsets = np.frombuffer(offsets_buffer, dtype=width)[array.offset:array.offset + len(array) + 1]
    starts, lengths = offsets[:-1], np.diff(offsets)
    if data_buffer is None or len(data_buffer) == 0:
        return np.ones(len(array), dtype=bool)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    first = data[np.minimum(starts, len(data) - 1)]
    return (lengths == 0) | _STARTS_SPACE[first]


def _per_value(array, read, *, refused: bool = False) -> np.ndarray:
    """Run the row reader's `read(FieldReader)` once per distinct value: (n,) bool of
    the rows it refuses (`refused`) or of the values it returns."""
    import pyarrow.compute as pc

    distinct = pc.unique(array).drop_null()
    outcome = np.array([_outcome(read, value, refused) for value in distinct.to_pylist()]
                       + [False], dtype=bool)   # the last entry: null rows (absent, accepted)
    where = _numpy(pc.index_in(array, value_set=distinct).fill_null(len(distinct)))
    return outcome[where]


def _outcome(read, value, refused: bool) -> bool:
    try:
        result = read(FieldReader({"f": value}, source="", where=""))
    except DataError:
        return True
    return False if refused else bool(result)


def _numpy(array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)
