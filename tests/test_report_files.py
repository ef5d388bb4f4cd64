"""A report is written completely or not at all, replaces only a previous report, and
never deletes a user's files."""

import subprocess
import sys
import textwrap

import pytest

from pluralist import workflows
from pluralist.errors import DataError, PluralistError
from pluralist.evaluation import plots, report

from .test_report_html import META, made_up_results

REPORT_FILES = {"metrics.json", "report.html", "summary.md"}


def _write(out, *families):
    return report.write_report(out, META, made_up_results(*families))


def _contents(folder) -> dict:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def _broken_plot(results):
    raise RuntimeError("the plot failed")


def test_a_report_is_its_three_files_and_nothing_is_left_beside_it(tmp_path):
    html_path = _write(tmp_path / "out", "bt", "lowrank")
    assert html_path == tmp_path / "out" / "report.html"
    assert {p.name for p in (tmp_path / "out").iterdir()} == REPORT_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failure_halfway_leaves_no_report_and_no_staging(tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "kshot_curves", _broken_plot)
    with pytest.raises(RuntimeError, match="the plot failed"):
        _write(tmp_path / "out", "bt")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_halfway_keeps_the_previous_report_as_it_was(tmp_path, monkeypatch):
    _write(tmp_path / "out", "bt", "lowrank")
    before = _contents(tmp_path / "out")
    monkeypatch.setattr(plots, "per_rater_histograms", _broken_plot)   # after metrics.json is written
    with pytest.raises(RuntimeError):
        _write(tmp_path / "out", "mixture")
    assert _contents(tmp_path / "out") == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_writing_again_replaces_the_previous_report(tmp_path):
    _write(tmp_path / "out", "bt", "lowrank")
    _write(tmp_path / "out", "mixture")
    assert {p.name for p in (tmp_path / "out").iterdir()} == REPORT_FILES
    assert "lowrank" not in (tmp_path / "out" / "summary.md").read_text()


@pytest.mark.parametrize("name, content", [("notes.txt", "mine"), ("summary.md", "my own notes\n"),
                                           ("metrics.json", '{"loss": 0.1}'), ("report.html", "<p>mine</p>")])
def test_a_folder_with_other_files_is_refused_in_one_line_and_left_alone(tmp_path, name, content):
    out = tmp_path / "out"
    _write(out, "bt")
    (out / name).write_text(content)
    before = _contents(out)
    with pytest.raises(DataError) as refused:
        _write(out, "lowrank")
    message = str(refused.value)
    assert str(out) in message and name in message and "\n" not in message
    assert _contents(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_file_or_a_subfolder_where_the_report_goes_is_refused(tmp_path):
    (tmp_path / "file").write_text("data")
    (tmp_path / "folder" / "inner").mkdir(parents=True)
    for out in (tmp_path / "file", tmp_path / "folder"):
        with pytest.raises(PluralistError, match=str(out)):
            report.check_report_dir(out)
    assert (tmp_path / "file").read_text() == "data" and (tmp_path / "folder" / "inner").is_dir()


def test_a_missing_or_empty_folder_is_fine(tmp_path):
    report.check_report_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    report.check_report_dir(tmp_path / "empty")
    _write(tmp_path / "empty", "bt")
    assert {p.name for p in (tmp_path / "empty").iterdir()} == REPORT_FILES


def test_the_staging_folder_of_a_killed_run_goes_on_the_next_write(tmp_path):
    """A run killed while plotting (os._exit: no clean-up runs) leaves its staging
    folder; the next write removes it, and only it."""
    killed = textwrap.dedent(f"""
        import os, sys
        sys.path[:0] = {sys.path!r}
        from pluralist.evaluation import plots, report
        from tests.test_report_html import META, made_up_results
        plots.kshot_curves = lambda results: os._exit(9)
        report.write_report({str(tmp_path / "out")!r}, META, made_up_results("bt"))
    """)
    assert subprocess.run([sys.executable, "-c", killed]).returncode == 9
    left = [p for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].name.startswith(".out.") and not (tmp_path / "out").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / ".out.mine").write_text("a user's file with a similar name")
    _write(tmp_path / "out", "bt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.mine", "mine", "out"]


@pytest.mark.parametrize("job", ["compare_file", "run_eval", "run_demo"])
def test_the_workflows_refuse_a_folder_of_other_files_before_any_work(tmp_path, job):
    out = tmp_path / "out"
    report_dir = out / "report" if job == "run_demo" else out
    report_dir.mkdir(parents=True)
    (report_dir / "thesis.tex").write_text("years of work")
    calls = {"compare_file": lambda: workflows.compare_file(None, ["bt"], out, None, data_name="d", split={},
                                                           truth=None, train_config=None, eval_config=None,
                                                           noise=None, command="c"),
             "run_eval": lambda: workflows.run_eval(tmp_path / "no-model", None, out, data_name="d",
                                                    truth=None, eval_config=None, cache_dir=None, command="c"),
             "run_demo": lambda: workflows.run_demo(out, None, seed=0, command="c")}
    with pytest.raises(DataError, match="thesis.tex"):
        calls[job]()
    assert [p.name for p in report_dir.iterdir()] == ["thesis.tex"]
    assert {p.name for p in out.iterdir()} == ({"report"} if job == "run_demo" else {"thesis.tex"})
