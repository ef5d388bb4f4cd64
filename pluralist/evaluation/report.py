"""The evaluation report: metrics.json (every number), one self-contained HTML
file (figures embedded), and a Markdown summary for the terminal.

A report is written whole or not at all (fileio.staged_directory): a failure halfway
leaves no half report and keeps the previous one. A folder that holds anything but
a previous report is refused, never emptied."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from . import plots
from ..errors import DataError
from ..fileio import staged_directory, write_json_atomic, write_text_atomic
from ..robust.reliability import (CONSISTENT, FLAGS, OUTLIER_SPREADS, POSSIBLE_SE, RATER_ANCHOR_SHARE,
                                  SPREAD_PERCENTILE, Reliability)
from ..robust.reversal import TOP_VOTERS

SUMMARY_K = 20
SUMMARY_HEADER = ("rank", "family", "seen acc [95% CI]", "seen worst group", "unseen k=0", "k=5",
                  "k=20", "ECE", "% of Bayes (seen)")
REPORT_FILES = ("metrics.json", "report.html", "summary.md")


def kshot_at(result: dict, k: int) -> float | None:
    return next((p.get("accuracy") for p in result["unseen_kshot"] if p["k"] == k), None)


def ranking(results: dict) -> list[str]:
    """Families ordered by unseen-rater accuracy at k = 20, then seen accuracy."""
    def key(family):
        r = results[family]
        return (kshot_at(r, SUMMARY_K) or 0.0, r["seen"].get("accuracy", 0.0))
    return sorted(results, key=key, reverse=True)


def summary_rows(results: dict) -> list[list[str]]:
    """The summary's cells (columns SUMMARY_HEADER), one row per family, best first."""
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"   # noqa: E731
    rows = []
    for position, family in enumerate(ranking(results), start=1):
        seen_acc, worst, ece, bayes = _seen_cells(results[family]["seen"])
        kshot = [fmt(kshot_at(results[family], k)) for k in (0, 5, 20)]
        rows.append([str(position), family, seen_acc, worst, *kshot, ece, bayes])
    return rows


def markdown_summary(results: dict) -> str:
    lines = ["| " + " | ".join(SUMMARY_HEADER) + " |", "|---" * len(SUMMARY_HEADER) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in summary_rows(results)])


def _seen_cells(seen: dict) -> tuple[str, str, str, str]:
    """Accuracy with CI, worst group, ECE and share of Bayes, or placeholders without seen raters."""
    if "accuracy" not in seen:
        return "n/a", "-", "-", "-"
    worst = seen.get("worst_group")
    low, high = seen["accuracy_ci95"]
    return (f"{seen['accuracy']:.3f} [{low:.3f}, {high:.3f}]",
            f"{worst} {seen['per_group_accuracy'][worst]:.3f}" if worst else "-",
            f"{seen['calibration']['ece']:.3f}",
            f"{100 * seen['fraction_of_bayes']:.1f}%" if "fraction_of_bayes" in seen else "-")


# --- writing: whole or not at all ----------------------------------------------------

def write_report(out_dir: Path, meta: dict, results: dict) -> Path:
    """Write metrics.json, report.html and summary.md into `out_dir`, replacing a
    previous report there; returns the HTML path. Refuses (check_report_dir) a folder
    holding anything else."""
    out_dir = Path(out_dir)
    check_report_dir(out_dir)
    with staged_directory(out_dir) as staging:
        order = ranking(results)
        write_json_atomic(staging / "metrics.json", {
            "meta": meta, "ranking": order,
            "families": {family: _jsonable(result) for family, result in results.items()}})
        write_text_atomic(staging / "summary.md", markdown_summary(results) + "\n")
        write_text_atomic(staging / "report.html", _html(meta, results, order, _figures(results, meta)))
        check_report_dir(out_dir)   # again, just before it is replaced: the work took a while
    return out_dir / "report.html"


def check_report_dir(path) -> None:
    """Refuse (DataError) an output folder that holds anything but a previous pluralist
    report, which a new report replaces; a missing or empty folder is fine. Workflows
    call it before any work, so that a refusal costs nothing."""
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise DataError("not a folder: a report is written into a new folder, an empty one or "
                        "one holding a previous report", source=str(path))
    foreign = sorted(entry.name for entry in path.iterdir() if not _is_report_file(entry))
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise DataError(f"holds files that are not a pluralist report ({shown}); a report would "
                        "replace the folder: choose a new or empty one", source=str(path))


def _is_report_file(entry: Path) -> bool:
    """A file a report writes, by name and by content (a user's own summary.md is not)."""
    if entry.name not in REPORT_FILES or entry.is_symlink() or not entry.is_file():
        return False
    try:
        with entry.open(encoding="utf-8") as file:
            if entry.name == "metrics.json":
                metrics = json.load(file)
                return isinstance(metrics, dict) and {"meta", "ranking", "families"} <= metrics.keys()
            head = file.read(1000)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if entry.name == "report.html":
        return "<title>pluralist report</title>" in head
    return head.startswith("| " + " | ".join(SUMMARY_HEADER[:2]) + " |")


def _jsonable(result: dict) -> dict:
    """A family's result with its records (the reliability) as plain dicts."""
    return {key: value.to_dict() if isinstance(value, Reliability) else value
            for key, value in result.items()}


# --- the page ----------------------------------------------------------------------

def _figures(results: dict, meta: dict) -> dict[str, bytes]:
    with_seen = {f: r for f, r in results.items() if "accuracy" in r["seen"]}
    figures = {"kshot": plots.kshot_curves(results),
               "reliability": plots.reliability_diagrams(with_seen),
               "per_rater": plots.per_rater_histograms(with_seen)}
    groups = meta.get("seen_rater_groups")
    for family in ranking(results):
        profiles = results[family].get("rater_profiles")
        if profiles and groups and len(profiles) == len(groups) and len(profiles[0]) >= 2:
            figures["rater_map"] = plots.rater_map(profiles, groups, family)
            break
    return figures


def _img(png: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}">')


def _table(rows: list[list], header: list[str]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _kshot_table(results: dict, order: list[str]) -> str:
    shots = [p["k"] for p in results[order[0]]["unseen_kshot"]]
    rows = []
    for family in order:
        row = [family]
        for point in results[family]["unseen_kshot"]:
            row.append(_kshot_cell(point))
        rows.append(row)
    return _table(rows, ["family"] + [f"k={k}" for k in shots])


def _kshot_cell(point: dict) -> str:
    """Accuracy [interval], then the gain over k = 0 on the same raters, flagged where
    adapting surely lost to the population."""
    if "accuracy" not in point:
        return point.get("note", "n/a")
    low, high = point["accuracy_ci95"]
    cell = f"{point['accuracy']:.3f} [{low:.3f}, {high:.3f}]"
    versus = point.get("vs_population")
    if versus:
        gain_low, gain_high = versus["gain_ci95"]
        cell += f"; vs k=0 {versus['gain']:+.3f} [{gain_low:+.3f}, {gain_high:+.3f}]"
        if versus["below_population"]:
            cell += " BELOW THE POPULATION"
    return cell


def _group_table(results: dict, order: list[str]) -> str:
    groups = sorted({g for f in order for g in results[f]["seen"].get("per_group_accuracy", {})})
    if not groups:
        return "<p>The data has no <code>group</code> column.</p>"
    rows = []
    for family in order:
        seen = results[family]["seen"]
        k20 = next((p for p in results[family]["unseen_kshot"] if p["k"] == SUMMARY_K), {})
        rows.append([family] + [f"{seen['per_group_accuracy'].get(g, float('nan')):.3f} / "
                                f"{k20.get('per_group_accuracy', {}).get(g, float('nan')):.3f}"
                                for g in groups] + [seen.get("worst_group", "-")])
    return _table(rows, ["family"] + [f"{g} (seen / unseen k=20)" for g in groups] + ["worst group (seen)"])


def _reliability_section(results: dict, order: list[str]) -> str:
    assessed = [(family, results[family]["reliability"]) for family in order
                if results[family].get("reliability") and results[family]["reliability"].raters]
    if not assessed:
        return "<p>Not assessed: no seen rater had enough comparisons without ties.</p>"
    return (reliability_rule(assessed)
            + _table([_reliability_row(family, rel) for family, rel in assessed],
                     ["family", "raters assessed", "mean estimated flip rate",
                      "median reversal gain", "median own-model accuracy",
                      "reversal z-score that stands out",
                      "adversarial",  # then the rest of FLAGS, in order
                      "possibly adversarial", "random", "position-biased",
                      "adversarial raters: reversal gain [90% interval]"]))


def _reliability_row(family: str, rel: Reliability) -> list:
    rates = [record.flip_rate for record in rel.raters.values()]
    adversarial = ", ".join(
        f"{rater} ({rel.raters[rater].reversal_gain:+.2f} "
        f"[{rel.raters[rater].reversal_interval90[0]:+.2f}, {rel.raters[rater].reversal_interval90[1]:+.2f}])"
        for rater in rel.flagged["adversarial"][:12]) or "none"
    return [family, len(rel.raters), f"{sum(rates) / len(rates):.3f}", f"{rel.median_reversal_gain:+.3f}",
            f"{rel.median_own_model_accuracy:.3f}", f"{rel.reversal_z_floor:+.2f}",
            *(len(rel.flagged[flag]) for flag in FLAGS), adversarial]


def reliability_rule(assessed: list[tuple[str, Reliability]]) -> str:
    """How the raters were judged, as HTML, said once for every family: from the
    constants the flags use and, for position bias, from the data."""
    rules = [f"flip rate: labels against the rater's own cross-fitted model on the "
             f"{RATER_ANCHOR_SHARE:.0%} of their comparisons it is surest about",
             f"reversal gain: how much better the {TOP_VOTERS:.0%} of other raters that best match the "
             "labels explain them reversed than as they are (held-out log-likelihood per comparison, "
             "their probabilities averaged), with its standard error and 90% interval",
             "adversarial: that interval lies above 0 and the z-score (gain over standard error) stands "
             f"{OUTLIER_SPREADS:g} spreads above the median rater's (the spread: the median less the "
             f"{SPREAD_PERCENTILE:g}th percentile)",
             "random (models with per-rater preferences only): the interval contains 0 and the rater's "
             f"own cross-fitted accuracy is below {CONSISTENT} and, beyond its 90% interval, below the "
             "median rater's",
             "possibly adversarial (models with per-rater preferences only): otherwise a gain above "
             f"{POSSIBLE_SE} standard errors that stands out as well; on noisy labels this tier also "
             "takes ordinary raters, a small group's first",
             f"position-biased: {assessed[0][1].position_bias}"]
    notes = ["The flags mean little where the median rater's gain is near 0: the model then cannot "
             "tell its raters from their reversal."]
    without = [family for family, rel in assessed if not rel.per_rater_preferences]
    if without:
        notes.append(f"No per-rater preferences ({', '.join(without)}): the others are the population "
                     "alone, against which a minority taste can look reversed, so only the adversarial "
                     "flag is given.")
    return ("<ul>" + "".join(f"<li>{html.escape(rule)}</li>" for rule in rules) + "</ul>"
            + "".join(f"<p>{html.escape(note)}</p>" for note in notes))


def _html(meta: dict, results: dict, order: list[str], figures: dict) -> str:
    setup = _table([[k, json.dumps(v) if isinstance(v, (dict, list)) else v]
                    for k, v in meta.items() if k != "seen_rater_groups"], ["setting", "value"])
    diagnostics = _table([[f, json.dumps(results[f]["diagnostics"]), json.dumps(results[f]["options"]),
                           results[f]["adapt_prior"]["chosen"]] for f in order],
                         ["family", "diagnostics", "options", "new-rater prior precision"])
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in meta.get("notes", []))
    rule = html.escape(results[order[0]]["accuracy_rule"])
    rater_map = (_img(figures["rater_map"], "map of raters") if "rater_map" in figures
                 else "<p>No family with rater parameters of two or more dimensions.</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pluralist report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:0.9em}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
th{{background:#f3f3f3}}img{{max-width:100%;border:1px solid #eee;margin:0.5em 0}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}
</style></head><body>
<h1>pluralist report</h1>
<section id="summary"><h2>Summary</h2><p>Families ranked by accuracy on unseen raters after
{SUMMARY_K} comparisons, then by accuracy on seen raters. Intervals are 95% bootstrap intervals over raters.
Accuracy rule: {rule}.</p>{_table(summary_rows(results), list(SUMMARY_HEADER))}<ul>{notes}</ul></section>
<section id="setup"><h2>Data, split and settings</h2>{setup}</section>
<section id="kshot"><h2>New raters: the k-shot curve</h2>{_img(figures["kshot"], "k-shot curves")}
<p>Each point after k comparisons is shown against k = 0, the population reward, on the same raters
(the mean gain per comparison and its 95% interval over raters); a point whose interval lies wholly
below zero is marked: adapting lost to the population there.</p>
{_kshot_table(results, order)}</section>
<section id="groups"><h2>Groups</h2><p>Averages hide minorities: the worst group is shown next to the mean.</p>
{_group_table(results, order)}</section>
<section id="calibration"><h2>Calibration</h2>{_img(figures["reliability"], "reliability diagrams")}</section>
<section id="raters"><h2>Per-rater accuracy</h2>{_img(figures["per_rater"], "per-rater accuracy histograms")}</section>
<section id="rater-map"><h2>Map of raters</h2>{rater_map}</section>
<section id="reliability"><h2>Rater reliability</h2>{_reliability_section(results, order)}</section>
<section id="diagnostics"><h2>Models</h2>{diagnostics}</section>
<section id="reproduce"><h2>Reproduce</h2><pre>{html.escape(meta.get("command", ""))}</pre></section>
</body></html>
"""
