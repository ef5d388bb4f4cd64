"""The report page from made-up results (no training): the summary as a real table, the
reliability rule said once, and one colour per family in every figure."""

import json
import re

import pytest

from pluralist.evaluation import plots, report
from pluralist.robust.reliability import CONSISTENT, OUTLIER_SPREADS, POSSIBLE_SE, RaterReliability, Reliability


def made_up_reliability(per_rater: bool = True) -> Reliability:
    record = RaterReliability(comparisons=40, flip_rate=0.1, flip_rate_interval90=(0.05, 0.2),
                              anchor_comparisons=10, own_model_accuracy=0.8,
                              own_model_accuracy_interval90=(0.7, 0.9), reversal_gain=-0.2,
                              reversal_standard_error=0.05, reversal_interval90=(-0.28, -0.12))
    return Reliability({"r1": record, "r2": record}, {"adversarial": [], "possibly_adversarial": [],
                                                      "random": [], "position_biased": []},
                       -0.2, 0.8, -1.5, per_rater, "not assessed: the data do not record the order")


def made_up_result(accuracy: float, per_rater: bool = True) -> dict:
    """One family's result in the shape evaluate_model gives, with `accuracy` everywhere."""
    interval = [accuracy - 0.02, accuracy + 0.02]
    seen = {"accuracy": accuracy, "accuracy_ci95": interval, "worst_group": "a",
            "per_group_accuracy": {"a": accuracy - 0.05, "b": accuracy},
            "calibration": {"ece": 0.03, "bins": [{"confidence": 0.6, "accuracy": 0.58},
                                                  {"confidence": 0.8, "accuracy": 0.79}]},
            "fraction_of_bayes": accuracy / 0.9, "per_rater_accuracy": {"values": [accuracy - 0.1, accuracy]}}
    kshot = [{"k": k, "accuracy": accuracy - 0.1 + 0.005 * k, "accuracy_ci95": interval} for k in (0, 5, 20)]
    return {"seen": seen, "unseen_kshot": kshot, "diagnostics": {}, "options": {}, "train": {},
            "adapt_prior": {"chosen": 1.0}, "accuracy_rule": "ties count one half",
            "rater_profiles": None, "reliability": made_up_reliability(per_rater)}


def made_up_results(*families: str) -> dict:
    return {family: made_up_result(0.70 + 0.01 * i, per_rater=family != "bt")
            for i, family in enumerate(families)}


META = {"command": "pluralist compare made-up.jsonl", "notes": [], "seen_rater_groups": ["a", "b"]}


def _section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">')[1].split("</section>")[0]


@pytest.fixture
def written(tmp_path):
    results = made_up_results("bt", "lowrank", "mixture")
    report.write_report(tmp_path / "report", META, results)
    return tmp_path / "report", results


def test_the_summary_is_an_html_table_with_one_row_per_family_best_first(written):
    out, results = written
    summary = _section((out / "report.html").read_text(), "summary")
    assert "<pre>" not in summary and summary.count("<table>") == 1
    rows = re.findall(r"<tr>(.*?)</tr>", summary.split("<tbody>")[1])
    assert len(rows) == len(results)
    families = [re.findall(r"<td>(.*?)</td>", row)[1] for row in rows]
    assert families == report.ranking(results) == ["mixture", "lowrank", "bt"]
    header = re.findall(r"<th>(.*?)</th>", summary.split("<tbody>")[0])
    assert header == list(report.SUMMARY_HEADER)


def test_summary_md_stays_markdown(written):
    out, results = written
    text = (out / "summary.md").read_text()
    assert text == report.markdown_summary(results) + "\n"
    assert text.startswith("| rank | family |") and text.splitlines()[1].startswith("|---|---|")
    assert text.splitlines()[2].startswith("| 1 | mixture | 0.720 [0.700, 0.740] |")


def test_the_rule_is_said_once_in_the_page_with_its_numbers_and_not_in_metrics(written):
    out, _ = written
    section = _section((out / "report.html").read_text(), "reliability")
    assert section.count("flip rate: labels against") == 1
    assert f"a gain above {POSSIBLE_SE} standard errors" in section
    assert f"stands {OUTLIER_SPREADS:g} spreads above" in section and f"below {CONSISTENT}" in section
    assert "position-biased: not assessed: the data do not record the order" in section
    assert "No per-rater preferences (bt)" in section      # said of bt alone
    metrics = json.loads((out / "metrics.json").read_text())
    for result in metrics["families"].values():
        assert "rule" not in result["reliability"] and result["reliability"]["position_bias"]
    assert metrics["families"]["bt"]["reliability"]["per_rater_preferences"] is False


def test_a_report_of_families_with_per_rater_preferences_only_has_no_such_note(tmp_path):
    report.write_report(tmp_path / "r", META, made_up_results("lowrank", "mixture"))
    assert "No per-rater preferences" not in (tmp_path / "r" / "report.html").read_text()


# --- colours -----------------------------------------------------------------------

def _drawn_colours(monkeypatch, figure, results) -> dict[str, set[str]]:
    """{family: colours of everything drawn for it} in one figure, read off the axes."""
    from matplotlib.colors import to_hex

    drawn = {}

    def capture(plt, fig):
        ax = fig.axes[0]
        for artist in [*ax.lines, *ax.patches]:
            family = artist.get_label().split(" (ECE")[0]
            if family in results:
                colour = artist.get_color() if hasattr(artist, "get_color") else artist.get_edgecolor()
                drawn.setdefault(family, set()).add(to_hex(colour))
        plt.close(fig)
        return b""

    monkeypatch.setattr(plots, "_png", capture)
    figure(results)
    return drawn


FIGURES = [plots.kshot_curves, plots.reliability_diagrams, plots.per_rater_histograms]


@pytest.mark.parametrize("figure", FIGURES, ids=lambda f: f.__name__)
def test_every_figure_draws_a_family_in_its_one_colour_whatever_else_is_drawn(monkeypatch, figure):
    few = _drawn_colours(monkeypatch, figure, made_up_results("lowrank", "bt"))
    many = _drawn_colours(monkeypatch, figure, made_up_results("mixture", "gpm", "lowrank", "ideal_point", "bt"))
    for family in ("lowrank", "bt"):
        assert few[family] == many[family] == {plots.family_colour(family)}
    assert len({plots.family_colour(f) for f in many}) == len(many)


def test_the_kshot_intervals_are_shaded_in_the_familys_colour(monkeypatch):
    from matplotlib.colors import to_hex

    shades = []

    def capture(plt, fig):
        shades.extend(to_hex(c.get_facecolor()[0], keep_alpha=False) for c in fig.axes[0].collections)
        plt.close(fig)
        return b""

    monkeypatch.setattr(plots, "_png", capture)
    plots.kshot_curves(made_up_results("variational", "lowrank"))
    assert shades == [plots.family_colour("variational"), plots.family_colour("lowrank")]


def test_every_built_in_family_has_its_own_colour_and_a_new_one_a_stable_other():
    from pathlib import Path

    import pluralist.models.families as families

    shipped = {p.stem for p in Path(families.__file__).parent.glob("*.py") if p.stem != "__init__"}
    assert shipped <= set(plots.FAMILY_COLOURS)     # one file per family, named after it
    built_in = list(plots.FAMILY_COLOURS.values())
    assert len(set(built_in)) == len(built_in)
    new = plots.family_colour("a_family_added_later")
    assert new == plots.family_colour("a_family_added_later") and new not in built_in
