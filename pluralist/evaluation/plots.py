"""Report figures as PNG bytes (matplotlib, no display needed).

Every figure draws a family in the same colour (family_colour), so a reader can
follow one family from chart to chart."""

from __future__ import annotations

import hashlib
import io

import numpy as np

# Fixed per name, so that a family keeps its colour whatever else is in the report;
# bt, the baseline every other family is read against, is black (and dashed).
FAMILY_COLOURS = {"bt": "#000000", "ideal_point": "#1f77b4", "lowrank": "#ff7f0e",
                  "mixture": "#2ca02c", "variational": "#d62728", "gpm": "#9467bd",
                  "decomposed": "#8c564b"}
# For families added later: picked by a hash of the name (stable across runs, unlike
# hash()), none of them one of the colours above or the grey of the reference lines.
OTHER_COLOURS = ("#e377c2", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                 "#c5b0d5")
REFERENCE = "grey"   # Bayes accuracy, perfect calibration


def family_colour(family: str) -> str:
    """The one colour `family` is drawn in, in every figure."""
    if family in FAMILY_COLOURS:
        return FAMILY_COLOURS[family]
    digest = hashlib.sha256(family.encode("utf-8")).digest()
    return OTHER_COLOURS[digest[0] % len(OTHER_COLOURS)]


def family_style(family: str) -> dict:
    """Colour, and bt's dashed line, as keyword arguments of a line plot."""
    return {"color": family_colour(family), "linestyle": "--" if family == "bt" else "-"}


def _figure(width=6.4, height=4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(width, height), dpi=100)


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _finish(plt, fig, ax, xlabel: str, ylabel: str, title: str, grid: bool = True) -> bytes:
    """Axis labels, title, legend (and grid) the way every chart here has them; PNG bytes."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:   # a chart with nothing drawn (no results) has no legend
        ax.legend(fontsize=8)
    if grid:
        ax.grid(alpha=0.3)
    return _png(plt, fig)


def kshot_curves(results: dict) -> bytes:
    plt, fig, ax = _figure()
    for family, result in results.items():
        points = [p for p in result["unseen_kshot"] if "accuracy" in p]
        ks = [max(p["k"], 0.5) for p in points]   # k = 0 drawn at 0.5 on the log axis
        ax.plot(ks, [p["accuracy"] for p in points], marker="o", label=family, **family_style(family))
        low = [p["accuracy_ci95"][0] for p in points]
        high = [p["accuracy_ci95"][1] for p in points]
        ax.fill_between(ks, low, high, alpha=0.12, color=family_colour(family))
    bayes = [p.get("bayes_accuracy") for r in results.values() for p in r["unseen_kshot"]]
    if any(b is not None for b in bayes):
        ax.axhline(max(b for b in bayes if b is not None), color=REFERENCE, linewidth=0.8,
                   linestyle=":", label="Bayes")
    ax.set_xscale("log")
    return _finish(plt, fig, ax, "k: comparisons from the new rater (k = 0 drawn at 0.5: population reward)",
                   "accuracy on their held-out comparisons",
                   "Unseen raters: accuracy after adapting on k comparisons")


def reliability_diagrams(results: dict) -> bytes:
    plt, fig, ax = _figure()
    ax.plot([0.5, 1], [0.5, 1], color=REFERENCE, linestyle=":", label="perfect calibration")
    for family, result in results.items():
        bins = result["seen"]["calibration"]["bins"]
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                label=f"{family} (ECE {result['seen']['calibration']['ece']:.3f})", **family_style(family))
    return _finish(plt, fig, ax, "predicted probability of the predicted side", "observed frequency",
                   "Reliability on seen raters' held-out comparisons")


def per_rater_histograms(results: dict) -> bytes:
    plt, fig, ax = _figure()
    bins = np.linspace(0, 1, 21)
    for family, result in results.items():
        ax.hist(result["seen"]["per_rater_accuracy"]["values"], bins=bins, histtype="step",
                linewidth=1.5, label=family, **family_style(family))
    return _finish(plt, fig, ax, "accuracy of one seen rater on their held-out comparisons", "raters",
                   "Distribution of per-rater accuracy", grid=False)


def rater_map(profiles: list[list[float]], groups: list[str], family: str) -> bytes:
    """PCA of rater parameters to 2-D, coloured by group."""
    x = np.asarray(profiles, dtype=float)
    x = x - x.mean(0)
    _, _, vh = np.linalg.svd(x, full_matrices=False)
    coords = x @ vh[:2].T if vh.shape[0] >= 2 else np.c_[x[:, :1], np.zeros(len(x))]
    plt, fig, ax = _figure(5.5, 4.5)
    for group in sorted(set(groups)):
        mask = np.array(groups) == group
        ax.scatter(coords[mask, 0], coords[mask, 1], s=12, alpha=0.7, label=group or "(no group)")
    ax.set_title(f"Seen raters ({family} parameters, PCA)")
    ax.legend(fontsize=8)
    return _png(plt, fig)
