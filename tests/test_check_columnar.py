"""The columnar `data check` of Parquet files gives the row reader's summary and errors."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pluralist.data import check_summary, read_comparisons
from pluralist.data import columnar
from pluralist.data.check import check_file
from pluralist.data.columnar import coded_parquet
from pluralist.data.columnar_fields import PYTHON_SPACE
from pluralist.errors import DataError


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 3 rows, encoded in blocks of 5 or more, so that codes and row numbers
    must carry across batches and blocks."""
    monkeypatch.setattr(columnar, "BATCH_ROWS", 3)
    monkeypatch.setattr(columnar, "BLOCK_ROWS", 5)


def write(tmp_path, columns, name="d.parquet", **options):
    path = tmp_path / name
    pq.write_table(pa.table(columns), path, **options)
    return path


def both(path, **options):
    """(columnar summary, row reader's summary); check the columnar path was taken."""
    assert coded_parquet(str(path), **options) is not None
    return check_file(str(path), **options), check_summary(read_comparisons(path, **options))


def test_known_answers(tmp_path, small_batches):
    path = write(tmp_path, {"rater": ["a", "a", "a", "b", "c", "c"],
                            "chosen": ["x", "x", "y", "x", "y", "p"],
                            "rejected": ["y", "y", "x", "y", "x", "q"]})
    fast, rows = both(path)
    assert fast == rows
    assert fast["duplicate_comparisons"] == 1 and fast["contradictory_duplicates"] == 1
    assert fast["pairs_judged_by_several_raters"] == 1
    assert fast["inter_rater_agreement"] == pytest.approx(1 / 3, abs=1e-4)
    assert fast["comparisons_per_rater"] == {"min": 1, "median": 2.0, "max": 3}
    assert fast["distinct_texts"] == 4 and fast["prompts"] == 1 and fast["groups"] == []


def random_columns(rng, n):
    texts = [f"t{i}" for i in range(int(rng.integers(2, 6)))]
    chosen = rng.integers(0, len(texts), n)
    rejected = (chosen + rng.integers(1, len(texts), n)) % len(texts)
    columns = {"chosen": [texts[i] for i in chosen], "rejected": [texts[i] for i in rejected],
               "prompt": [["", "p1", "p2", None][i] for i in rng.integers(0, 4, n)],
               "tie": (rng.random(n) < 0.2).tolist(),
               "group": [["", "g1", "g2", None][i] for i in rng.integers(0, 4, n)]}
    if rng.random() < 0.5:
        columns["rater"] = [f"r{i}" for i in rng.integers(0, 4, n)]
    elif rng.random() < 0.5:
        columns["rater"] = rng.integers(0, 4, n).tolist()
    return columns


def test_random_tables_match_the_row_reader(tmp_path, small_batches):
    rng = np.random.default_rng(5)
    for trial in range(60):
        columns = random_columns(rng, int(rng.integers(1, 30)))
        path = write(tmp_path, columns, row_group_size=int(rng.integers(1, 8)))
        fast, rows = both(path)
        assert fast == rows, (trial, columns)


def test_values_the_row_reader_reads_as_text_match(tmp_path, small_batches):
    path = write(tmp_path, {"rater": [7, 7, 8, 9], "chosen": ["a", "b", "a", "a"],
                            "rejected": ["b", "a", "b", "b"], "tie": ["yes", "No", " 0 ", "0"],
                            "strength": ["0.5", "", None, "2"], "weight": [1, 2, 3, 4],
                            "group": pa.array(["x", "y", "x", None]).dictionary_encode()})
    fast, rows = both(path)
    assert fast == rows and fast["ties"] == 1 and fast["groups"] == ["x", "y"]


GOOD = {"rater": ["u", "v", "w", "u", "v"], "chosen": ["a", "b", "c", "d", "e"],
        "rejected": ["f", "g", "h", "i", "j"]}


@pytest.mark.parametrize("field, values", [
    ("chosen", ["a", "b", "c", None, "e"]),
    ("rejected", ["f", "g", "h", "\u3000\t", "j"]),
    ("rejected", ["f", "g", "h", "d", "j"]),                 # same text as chosen
    ("prompt", ["", None, "p", " ", "q"]),
    ("prompt", [1, 2, 3, 4, 5]),
    ("rater", ["u", "v", "w", "", "v"]),
    ("rater", [1.0, 2.0, 3.0, 4.0, 5.0]),
    ("chosen", [1, 2, 3, 4, 5]),
    ("tie", [0, 1, 1, 2, 0]),
    ("tie", [0.0, 1.0, 1.0, -0.0, 0.0]),
    ("tie", ["no", "yes", "true", "maybe", "0"]),
    ("chosen_first", [1, 0, None, 3, 1]),
    ("weight", [1.0, 2.0, 0.5, 1e-50, 1.0]),                 # 0 in float32
    ("weight", [1, 1, 1, 0, 1]),
    ("strength", [0.0, 1.0, 2.0, -1.0, 0.0]),
    ("strength", [0.0, 1.0, 2.0, 1e39, 0.0]),
    ("strength", ["0", "1", "2", "much", "0"]),
    ("margin", [0.0, 1.0, 2.0, float("nan"), 0.0]),
    ("group", [1.5, None, None, 2.0, None]),
    ("id", [True, False, True, False, True]),
])
def test_bad_rows_give_the_row_readers_message(tmp_path, small_batches, field, values):
    path = write(tmp_path, {**GOOD, field: values})
    with pytest.raises(DataError) as old:
        read_comparisons(path)
    with pytest.raises(DataError) as new:
        coded_parquet(str(path))      # the columnar path itself refuses, not a fallback
    assert str(new.value) == str(old.value)
    assert "row 4" in str(new.value) or "row 1" in str(new.value)


def test_strength_hides_margin_only_where_given(tmp_path, small_batches):
    path = write(tmp_path, {**GOOD, "strength": [1.0, None, 1.0, 1.0, 1.0],
                            "margin": [-5.0, -5.0, 0.0, 0.0, 0.0]})
    with pytest.raises(DataError, match=r"row 2: field 'margin': must be >= 0") as new:
        check_file(str(path))
    with pytest.raises(DataError) as old:
        read_comparisons(path)
    assert str(new.value) == str(old.value)


@pytest.mark.parametrize("columns, rater_column", [
    ({"chosen": ["a"], "rejected": ["b"]}, "annotator"),      # no such column
    ({"rater": ["u"], "rejected": ["b"]}, None),              # no chosen column
    ({"rater": pa.array([], pa.string()), "chosen": pa.array([], pa.string()),
      "rejected": pa.array([], pa.string())}, None),          # no rows
])
def test_file_level_errors_match(tmp_path, columns, rater_column):
    path = write(tmp_path, columns)
    with pytest.raises(DataError) as old:
        read_comparisons(path, rater_column=rater_column)
    with pytest.raises(DataError) as new:
        coded_parquet(str(path), rater_column=rater_column)
    assert str(new.value) == str(old.value)


@pytest.mark.parametrize("content", [b"not parquet at all", b"  \n ", b"PAR1" + b"\0" * 40])
def test_unreadable_files_match(tmp_path, content):
    path = tmp_path / "d.parquet"
    path.write_bytes(content)
    with pytest.raises(DataError) as old:
        read_comparisons(path)
    with pytest.raises(DataError) as new:
        check_file(str(path))
    assert str(new.value) == str(old.value)


def test_chat_messages_fall_back_to_the_row_reader(tmp_path):
    def chat(text):
        return [{"role": "user", "content": "hi"}, {"role": "assistant", "content": text}]

    path = write(tmp_path, {"rater": ["u", "v"], "chosen": [chat("a"), chat("b")],
                            "rejected": [chat("c"), chat("a")]})
    assert coded_parquet(str(path)) is None
    assert check_file(str(path)) == check_summary(read_comparisons(path))


def test_python_space_is_every_character_str_strip_removes():
    assert set(PYTHON_SPACE) == {c for c in map(chr, range(0x110000)) if c.isspace()}


@pytest.mark.parametrize("first, agreement", [("x", 1.0), ("y", 0.0)])
def test_a_contradicting_raters_first_judgement_counts(tmp_path, small_batches, first, agreement):
    other = "y" if first == "x" else "x"
    path = write(tmp_path, {"rater": ["b", "a", "a", "a"], "chosen": ["x", first, other, first],
                            "rejected": ["y", other, first, other]})
    fast, rows = both(path)
    assert fast == rows
    assert fast["inter_rater_agreement"] == agreement and fast["contradictory_duplicates"] == 1


def test_cli_prints_the_same_for_parquet_as_for_jsonl(tmp_path):
    from click.testing import CliRunner

    from pluralist.cli import cli
    from pluralist.data import write_comparisons

    table = read_comparisons(write(tmp_path, {**GOOD, "tie": [True, False, False, False, True],
                                              "group": ["n", "", "s", None, "n"]}))
    outputs = []
    for name in ("t.jsonl", "t.parquet"):
        write_comparisons(table, tmp_path / name)
        result = CliRunner().invoke(cli, ["data", "check", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        outputs.append(result.output.split("\n", 1)[1])   # after "FILE: OK"
    assert outputs[0] == outputs[1] and "groups               n, s" in outputs[0]


def test_blank_texts_are_found_in_sliced_and_large_arrays():
    from pluralist.data.columnar_fields import _blank

    texts = ["a", "", " ", "\u3000x", "\u3000", None, "b ", "\t\n", "é"]
    expected = [t is not None and not t.strip() for t in texts]
    for kind in (pa.string(), pa.large_string()):
        array = pa.array(["pad"] + texts, kind).slice(1)
        assert _blank(array).tolist() == expected


def test_a_named_rater_column(tmp_path, small_batches):
    path = write(tmp_path, {"annotator": ["u", "v", "u"], "chosen": ["a", "b", "a"],
                            "rejected": ["b", "a", "c"]})
    fast, rows = both(path, rater_column="annotator")
    assert fast == rows and fast["raters"] == 2


def test_an_undecodable_later_part_is_reported_before_a_bad_row(tmp_path, small_batches):
    path = write(tmp_path, {**GOOD, "chosen": ["f", "b", "c", "d", "e"]},   # row 1: same text
                 row_group_size=2)
    data = bytearray(path.read_bytes())
    start = pq.ParquetFile(path).metadata.row_group(2).column(0).data_page_offset
    data[start:start + 16] = b"\xff" * 16   # the last row group's first page header
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as old:
        read_comparisons(path)
    with pytest.raises(DataError) as new:
        check_file(str(path))
    assert str(new.value) == str(old.value) and "not a readable Parquet file" in str(new.value)
