import numpy as np
import pytest

from pluralist.data import ComparisonTable, from_dataset, read_comparisons, write_comparisons
from pluralist.data.table import ANONYMOUS_RATER


def test_standard_format_with_optional_columns(write_jsonl):
    path = write_jsonl([
        {"rater": "ann", "prompt": "Q", "chosen": "a", "rejected": "b", "strength": 2, "group": "g1"},
        {"rater": 7, "prompt": "Q", "chosen": "c", "rejected": "d", "tie": True, "weight": 0.5,
         "chosen_first": False},
        {"rater": 7, "prompt": "Q", "chosen": "e", "rejected": "f", "chosen_first": "true"},
    ])
    table = read_comparisons(path)
    assert table.chosen_first.tolist() == [-1, 0, 1]      # -1: not recorded
    table = table.take([0, 1])
    assert table.rater.tolist() == ["ann", "7"]
    assert table.strength.tolist() == [2.0, 0.0]
    assert table.tie.tolist() == [False, True]
    assert table.weight.tolist() == [1.0, 0.5]
    assert table.group.tolist() == ["g1", ""]


def test_implicit_prompt_and_no_rater_column_is_one_population(write_jsonl):
    table = read_comparisons(write_jsonl([{"chosen": "a", "rejected": "b"}]))
    assert table.prompt.tolist() == [""]
    assert table.raters == [ANONYMOUS_RATER]


def test_conversational_explicit_prompt_is_rendered_deterministically(write_jsonl):
    record = {"rater": "u1",
              "prompt": [{"role": "user", "content": "What color is the sky?"}],
              "chosen": [{"role": "assistant", "content": "It is blue."}],
              "rejected": [{"role": "assistant", "content": "It is green."}]}
    table = read_comparisons(write_jsonl([record]))
    assert table.prompt[0] == "user: What color is the sky?"
    assert table.chosen[0] == "assistant: It is blue."
    assert table.rejected[0] == "assistant: It is green."


def test_conversational_implicit_prompt_splits_the_shared_prefix(write_jsonl):
    user = {"role": "user", "content": "Hi"}
    record = {"chosen": [user, {"role": "assistant", "content": "Hello!"}],
              "rejected": [user, {"role": "assistant", "content": "Go away."}]}
    table = read_comparisons(write_jsonl([record]))
    assert (table.prompt[0], table.chosen[0], table.rejected[0]) == \
        ("user: Hi", "assistant: Hello!", "assistant: Go away.")


def test_configurable_rater_column(write_jsonl):
    path = write_jsonl([{"annotator": "x", "chosen": "a", "rejected": "b"}])
    assert read_comparisons(path, rater_column="annotator").raters == ["x"]


def test_csv_reader(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('rater,prompt,chosen,rejected,strength\nu,"Q, with comma",a,b,\nv,Q,c,d,1.5\n')
    table = read_comparisons(path)
    assert table.prompt.tolist() == ["Q, with comma", "Q"]
    assert table.strength.tolist() == [0.0, 1.5]


def test_hf_dataset_object():
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list([{"rater": "u", "chosen": "a", "rejected": "b"}])
    assert from_dataset(ds).chosen.tolist() == ["a"]


def test_any_iterable_of_dicts_reads_like_a_dataset():
    table = from_dataset([{"rater": "u", "chosen": "a", "rejected": "b"}])
    assert table.rater.tolist() == ["u"] and table.id.tolist() == ["row 1"]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_write_then_read_round_trips(tmp_path, suffix):
    table = ComparisonTable.from_columns(
        rater=["a", "b"], prompt=["p", ""], chosen=["x", "y"], rejected=["z", "w"],
        tie=[False, True], strength=[1.0, 0.0], weight=[1.0, 2.0], group=["g", "h"], id=["1", "2"],
        chosen_first=[1, -1])
    path = tmp_path / f"out{suffix}"
    write_comparisons(table, path)
    back = read_comparisons(path)
    for name, column in table.columns().items():
        assert np.array_equal(getattr(back, name), column), name


def test_written_jsonl_uses_trl_column_names(tmp_path):
    import json

    table = ComparisonTable.from_columns(rater=["a"], chosen=["x"], rejected=["z"], strength=[2.0])
    write_comparisons(table, tmp_path / "o.jsonl")
    row = json.loads((tmp_path / "o.jsonl").read_text())
    assert {"prompt", "chosen", "rejected", "rater", "margin"} <= set(row)
