import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pluralist.cli import cli
from pluralist.data.persona import PersonaConfig, persona_benchmark, read_behaviours
from pluralist.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "persona"
CONFIG = PersonaConfig(raters=12, groups=3, traits_per_rater=1, behaviours=3,
                       statements_per_behaviour=4, comparisons_per_rater=10)


def test_raters_prefer_statements_that_agree_with_their_behaviours():
    behaviours = read_behaviours(FIXTURE)
    sign = {text: (name, s) for name, items in behaviours.items() for text, s in items}
    table = persona_benchmark(FIXTURE, CONFIG)
    assert len(table) == 120 and len(table.raters) == 12 and len(set(table.group)) == 3
    for group, chosen, rejected in zip(table.group, table.chosen, table.rejected):
        score = lambda text: sign[text][1] if sign[text][0] in group.split("+") else 0
        assert score(chosen) > score(rejected)


def test_groups_disagree_about_the_same_statement():
    table = persona_benchmark(FIXTURE, CONFIG)
    rejected_by = {}
    for group, chosen, rejected in zip(table.group, table.chosen, table.rejected):
        rejected_by.setdefault(rejected, set()).add(group)
    liked_by = {}
    for group, chosen in zip(table.group, table.chosen):
        liked_by.setdefault(chosen, set()).add(group)
    # some statement is preferred by one group and rejected by another
    assert any(liked_by.get(s, set()) - groups for s, groups in rejected_by.items())


def test_deterministic_and_cli_writes_the_file(tmp_path):
    a, b = persona_benchmark(FIXTURE, CONFIG), persona_benchmark(FIXTURE, CONFIG)
    assert a.chosen.tolist() == b.chosen.tolist()
    out = tmp_path / "persona.jsonl"
    result = CliRunner().invoke(cli, ["data", "persona", "--src", str(FIXTURE), "--out", str(out),
                                      "--raters", "6", "--groups", "2", "--traits-per-rater", "1",
                                      "--comparisons-per-rater", "5"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 30
    assert json.loads(out.read_text().splitlines()[0])["group"]


def test_bad_persona_file_is_located(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"statement": "x", "answer_matching_behavior": " Maybe"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl: line 1: field 'answer_matching_behavior'"):
        read_behaviours(tmp_path)
    with pytest.raises(DataError, match="no persona files"):
        read_behaviours(tmp_path / "nowhere")
