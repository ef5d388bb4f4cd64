"""How high a reversal gain must be to flag a rater as possibly adversarial.

    python bench/flag_threshold.py [--seeds 0 1 2 3 4] [--families ideal_point lowrank]

For each family, on draws of the built-in benchmark with 5% adversarial raters,
fits the family, computes every seen rater's reversal gain and its standard
error as reports do (reliability.rater_reliability), and gives, for thresholds
c, the precision and recall of "gain above c standard errors" (and standing out
from the typical rater, reliability.OUTLIER_SPREADS) against the raters
the benchmark made adversarial (mean over draws) and how many false alarms fell
on the minority; the same precision and recall with 20% adversarial raters; and,
on draws with 20% symmetric label noise and no adversarial rater, how many
ordinary raters the same rule flags (mean per draw): the price of a low
threshold. reliability.POSSIBLE_SE was chosen here on draws 0-4; bench/noise.py
reports the flags on other draws. Writes bench/results/flag_threshold.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "flag_threshold.json"
THRESHOLDS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.28, 1.645)
ADVERSARIAL_SHARE = 0.05
MANY_ADVERSARIAL = 0.2
NOISE = 0.2


def rater_gains(seed: int, family: str, **condition) -> list[dict]:
    """Every assessed seen rater's reversal gain, its standard error, and the truth."""
    from noise import MINORITY, embedded_split
    from pluralist.data import SynthConfig, generate
    from pluralist.training import train
    from pluralist.robust.reliability import rater_reliability, stands_out
    from pluralist.training.loop import TrainConfig

    synth = generate(SynthConfig(seed=seed, **condition))
    split, bench, seen_rows_by_rater = embedded_split(synth, "minilm")
    model, _, _ = train(bench.data, split.train, family, config=TrainConfig(seed=seed))
    report = rater_reliability(model, bench.data, seen_rows_by_rater)
    adversarial = dict(zip(synth.rater_ids, synth.adversarial))
    group = dict(zip(synth.rater_ids, synth.rater_groups))
    return [{"adversarial": bool(adversarial[r]), "minority": group[r] == MINORITY,
             "gain": record.reversal_gain, "standard_error": record.reversal_standard_error,
             "stands_out": stands_out(record, report.reversal_z_floor)}
            for r, record in report.raters.items()]


def scores(draws: list[list[dict]], many_draws: list[list[dict]], noisy_draws: list[list[dict]],
           c: float) -> dict:
    """`draws`: 5% adversarial raters, `many_draws`: 20%, `noisy_draws`: none, 20% noise."""
    precision, recall = _precision_recall(draws, c)
    many_precision, many_recall = _precision_recall(many_draws, c)
    minority_false = sum(r["minority"] and not r["adversarial"] for raters in draws for r in _flagged(raters, c))
    return {"threshold_se": c, "precision": precision, "recall": recall,
            "minority_false_alarms": minority_false,
            "precision_at_20pct": many_precision, "recall_at_20pct": many_recall,
            "false_flags_under_noise": float(np.mean([len(_flagged(raters, c)) for raters in noisy_draws]))}


def _precision_recall(draws: list[list[dict]], c: float) -> tuple[float, float]:
    """Means over draws (precision over the draws where anything was flagged)."""
    precision, recall = [], []
    for raters in draws:
        flagged = _flagged(raters, c)
        hits = sum(r["adversarial"] for r in flagged)
        if flagged:
            precision.append(hits / len(flagged))
        recall.append(hits / sum(r["adversarial"] for r in raters))
    return float(np.mean(precision)), float(np.mean(recall))


def _flagged(raters: list[dict], c: float) -> list[dict]:
    """As reports flag: a gain above c standard errors that stands out from the typical rater's."""
    return [r for r in raters if r["gain"] > c * r["standard_error"] and r["stands_out"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--families", nargs="+", default=["ideal_point", "lowrank"])
    args = parser.parse_args()
    from pluralist.fileio import write_json_atomic

    results = {}
    for family in args.families:
        draws = [rater_gains(seed, family, adversarial=ADVERSARIAL_SHARE) for seed in args.seeds]
        many = [rater_gains(seed, family, adversarial=MANY_ADVERSARIAL) for seed in args.seeds]
        noisy = [rater_gains(seed, family, noise=NOISE) for seed in args.seeds]
        results[family] = [scores(draws, many, noisy, c) for c in THRESHOLDS]
        for row in results[family]:
            print(family, row, flush=True)
    write_json_atomic(RESULTS, {"families": args.families, "seeds": args.seeds,
                                "adversarial_share": ADVERSARIAL_SHARE, "noise": NOISE, "results": results})


if __name__ == "__main__":
    main()
