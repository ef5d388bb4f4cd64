"""`pluralist best-of-n` and `pluralist export` on a model trained on two opposed groups."""

import json
import random

import pytest
from click.testing import CliRunner

from pluralist.cli import cli

APPLES, ORANGES, SALAD = "apples apples apples", "oranges oranges oranges", "apples oranges salad"
PROMPT = "Which fruit?"
FILLER = "the a one today fine good some very more bright".split()


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def fruit_texts(kind: str, rng: random.Random) -> list[str]:
    words = {"A": "apples apples apples", "B": "oranges oranges oranges", "C": "apples oranges salad"}[kind]
    return [f"{words} {' '.join(rng.sample(FILLER, 3))} number{k}" for k in range(20)]


def opposed_groups(rng: random.Random) -> list[dict]:
    """Group a prefers apples > salad > oranges, group b oranges > salad > apples."""
    texts = {kind: fruit_texts(kind, rng) for kind in "ABC"}
    rows = []
    for group, order in (("a", "ACB"), ("b", "BCA")):
        for rater in range(10):
            for _ in range(8):
                for high, low in ((0, 1), (1, 2), (0, 2)):
                    rows.append({"rater": f"{group}{rater}", "group": group, "prompt": PROMPT,
                                 "chosen": rng.choice(texts[order[high]]),
                                 "rejected": rng.choice(texts[order[low]])})
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("aggregate")
    rows = opposed_groups(random.Random(0))
    data = root / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    newcomer = root / "newcomer.jsonl"   # a new rater of group a's taste
    newcomer.write_text("".join(json.dumps({**row, "rater": "newbie"}) + "\n"
                                for row in rows if row["rater"] == "a0"))
    cache, model = root / "cache", root / "model"
    result = run("train", data, "--family", "lowrank", "--rank", 2, "--encoder", "hashing:32",
                 "--epochs", 20, "--lr", 0.3, "--out", model, "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    result = run("adapt", model, newcomer, "--out", root / "profiles.json", "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    candidates = root / "candidates.jsonl"
    candidates.write_text(json.dumps({"prompt": PROMPT, "responses": [APPLES, ORANGES, SALAD]}) + "\n"
                          + json.dumps({"prompt": PROMPT, "responses": [ORANGES, SALAD, APPLES]}) + "\n")
    return {"root": root, "data": data, "model": model, "cache": cache, "candidates": candidates,
            "profiles": root / "profiles.json"}


def export(trained, *args, out=None):
    out = out or trained["root"] / "pairs.jsonl"
    result = run("export", trained["model"], trained["candidates"], *args, "--out", out,
                 "--cache-dir", trained["cache"])
    rows = [json.loads(line) for line in out.read_text().splitlines()] if result.exit_code == 0 else None
    return result, rows


def test_export_by_maxmin_chooses_the_compromise(trained):
    result, rows = export(trained, "--rule", "maxmin", "--groups", trained["data"])
    assert result.exit_code == 0, result.output
    assert "20 rater(s) in 2 group(s)" in result.output
    assert len(rows) == 4 and {row["chosen"] for row in rows} == {SALAD}
    assert all(row["rule"] == "maxmin" and row["group"] == "all" and row["margin"] > 0 for row in rows)
    assert {row["rejected"] for row in rows} == {APPLES, ORANGES}
    assert set(rows[0]) == {"prompt", "chosen", "rejected", "margin", "group", "rule"}


def test_best_of_n_under_maxmin_ranks_the_compromise_first_with_each_groups_utility(trained):
    result = run("best-of-n", trained["model"], "--prompt", PROMPT, APPLES, ORANGES, SALAD,
                 "--rule", "maxmin", "--groups", trained["data"], "--cache-dir", trained["cache"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("# rule maxmin; 20 rater(s) in 2 group(s)")
    header, first = lines[1].split("\t"), lines[2].split("\t")
    assert header == ["rank", "score", "mean", "worst group", "p10", "gini", "a", "b", "response"]
    assert first[-1] == SALAD and first[0] == "1"
    apples_row = next(line.split("\t") for line in lines[2:] if line.endswith(APPLES))
    assert float(apples_row[6]) > float(first[6]) > float(apples_row[7])   # a loves apples, b does not


def test_best_of_n_for_one_rater_ranks_by_their_taste(trained):
    for rater, favourite, worst, source in (("a3", APPLES, ORANGES, "seen rater"),
                                            ("b5", ORANGES, APPLES, "seen rater"),
                                            ("newbie", APPLES, ORANGES, "adapted profile")):
        result = run("best-of-n", trained["model"], APPLES, ORANGES, SALAD, "--rater", rater,
                     "--profiles", trained["profiles"], "--cache-dir", trained["cache"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert f"rater {rater}: {source}" in lines[0]
        ranked = [line.split("\t")[-1] for line in lines[2:5]]
        assert ranked == [favourite, SALAD, worst]


def test_export_for_each_rater_and_each_group(trained):
    result, rows = export(trained, "--each-rater", "--pairing", "best-vs-worst")
    assert result.exit_code == 0, result.output
    assert len(rows) == 20 * 2   # one pair per rater per prompt
    first_prompt = [row for row in rows if APPLES in (row["chosen"], row["rejected"])]
    assert all(row["chosen"] == (APPLES if row["rater"].startswith("a") else ORANGES)
               for row in first_prompt)
    result, rows = export(trained, "--each-group", "--groups", trained["data"], "--pairing", "above:0")
    assert result.exit_code == 0, result.output
    by_group = {(row["group"], row["chosen"], row["rejected"]) for row in rows}
    assert ("a", APPLES, ORANGES) in by_group and ("b", ORANGES, APPLES) in by_group
    assert ("a", SALAD, ORANGES) in by_group and ("b", SALAD, APPLES) in by_group


def test_export_for_a_new_rater_through_their_profile(trained):
    result, rows = export(trained, "--rater", "newbie", "--profiles", trained["profiles"])
    assert result.exit_code == 0, result.output
    assert "rater newbie: adapted profile" in result.output
    assert rows[0] == {**rows[0], "chosen": APPLES, "rater": "newbie"} and len(rows) == 4


def _refused(result, *expected):
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: ")
    for text in expected:
        assert text in result.output, result.output


@pytest.mark.parametrize("lines, where", [
    ([{"prompt": "Q", "responses": [APPLES]}], "line 1: field 'responses': needs at least two responses"),
    ([{"prompt": "Q", "responses": [APPLES, SALAD]}, {"prompt": "Q", "responses": [SALAD, SALAD]}],
     "line 2: field 'responses': response 2 repeats response 1"),
    (["{not json"], "line 1: malformed JSON"),
])
def test_bad_candidates_are_one_line_exit_2_and_nothing_is_written(trained, tmp_path, lines, where):
    candidates = tmp_path / "bad.jsonl"
    candidates.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                                  for line in lines))
    out = tmp_path / "pairs.jsonl"
    out.write_text("the user's own file\n")
    result = run("export", trained["model"], candidates, "--rule", "maxmin", "--out", out,
                 "--cache-dir", trained["cache"])
    _refused(result, f"{candidates}: {where}")
    assert out.read_text() == "the user's own file\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.jsonl", "pairs.jsonl"]


@pytest.mark.parametrize("args, expected", [
    (["--rule", "maxmin", "--rater", "a1"], "exactly one of --rater ID, --each-rater"),
    ([], "(got none)"),
    (["--rule", "median"], "unknown rule 'median'"),
    (["--rule", "quantile:2"], "quantile needs q in [0, 1]"),
    (["--rule", "mean", "--pairing", "best"], "unknown pairing 'best'"),
])
def test_bad_export_options_are_one_line_exit_2(trained, tmp_path, args, expected):
    out = tmp_path / "pairs.jsonl"
    _refused(run("export", trained["model"], trained["candidates"], *args, "--out", out), expected)
    assert not out.exists()


def test_export_refuses_bad_output_and_groups_files_before_any_work(trained, tmp_path):
    out = tmp_path / "pairs.csv"
    _refused(run("export", trained["model"], trained["candidates"], "--rule", "mean", "--out", out),
             "name the file .jsonl")
    groups = tmp_path / "groups.csv"
    groups.write_text("rater,group\na1,a\na1,b\n")
    _refused(run("export", trained["model"], trained["candidates"], "--rule", "maxmin", "--groups", groups,
                 "--out", tmp_path / "pairs.jsonl"), f"{groups}: line 3: field 'group'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["groups.csv"]


def test_best_of_n_refuses_rater_with_rule_and_duplicate_responses(trained):
    _refused(run("best-of-n", trained["model"], APPLES, SALAD, "--rater", "a1", "--rule", "maxmin"),
             "give --rater (one person) or --rule (many), not both")
    _refused(run("best-of-n", trained["model"], APPLES, APPLES), "command line: RESPONSE arguments: "
             "field 'responses': response 2 repeats response 1")
    _refused(run("best-of-n", trained["model"], APPLES), "needs at least two responses")
