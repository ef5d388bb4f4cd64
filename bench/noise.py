"""Robust training under known label noise, on the built-in benchmark.

    python bench/noise.py [--encoder minilm] [--families bt ideal_point lowrank] [--seeds 5 6 7 8 9]

For symmetric noise in {0, 0.1, 0.2, 0.4}, for 5% and 20% adversarial raters and
for 5% careless raters (who pick at random), and at 40% noise once more trained without
a validation split (as if early stopping were not there to guard against the flips),
each family (`bt`; `ideal_point`, the best personalised family on clean labels;
`lowrank`, whose population reward is linear like bt's and whose rater weights are
shrunk toward it) is trained plainly and with every robust option, and scored on the
*clean* labels of the seen raters' held-out comparisons (the benchmark records
which labels it flipped), overall and for the minority group. Also recorded: the
EM estimate of the flip rate, how well reliability flags find adversarial
and careless raters, and how many ordinary raters they flag (under symmetric
noise too). As a yardstick for each noise level e, plain training on the clean labels of
(1 - 2e)^2 of the rows, the most information the noisy labels hold (`clean-share`).
Every condition is drawn afresh for each seed (benchmark and training):
one draw's minority has ~680 held-out comparisons, so a difference of one point
between two options is within one draw's noise; the targets (`targets`) are
judged on the mean over seeds, differences with their standard error across
seeds. The default draws are not those the reliability flags' threshold was
chosen on (bench/flag_threshold.py: draws 0-4). Writes bench/results/noise.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "noise.json"
MINORITY = "storyteller"
ASSUMED_RATE = 0.1   # what a user would guess when they do not know the rate
NOISY_LEVELS = (0.1, 0.2, 0.4)
NO_VALIDATION = "no-validation"   # symmetric noise, trained without a validation split
CLEAN_SHARE = "clean-share"   # the reference row of each noise level (clean_share_references)


def clean_accuracy(model, bench, synth, rows) -> dict:
    from pluralist.metrics import correct
    from pluralist.models.base import margins

    margin = margins(model, bench.data, rows)
    hits = correct(np.where(synth.flipped[rows], -margin, margin), synth.table.tie[rows])
    minority = synth.table.group[rows] == MINORITY
    return {"clean_accuracy": float(hits.mean()), "minority_clean_accuracy": float(hits[minority].mean())}


def embedded_split(synth, encoder: str):
    """(split, embedded benchmark, every seen row by rater) of a draw. Flags are computed
    from every seen row, as reports do: the voters are the other raters, fitted on
    their own training rows."""
    from pluralist.data import split_raters
    from pluralist.encode import EmbedSpec
    from pluralist.workflows import make_benchmark

    split = split_raters(synth.table, unseen=100, seed=0)
    bench = make_benchmark(synth.table, split, EmbedSpec(encoder), progress=False)
    return split, bench, synth.table.rows_by_rater(np.concatenate([split.train, split.seen_test]))


def run_condition(synth, embedded, families, methods, true_rate: float, seed: int,
                  validation: bool = True) -> list[dict]:
    """`validation` False: trained without a validation split, so for every epoch (up to
    TrainConfig.epochs; the step size halves when the training loss stalls) on every
    noisy label, and not scored for reliability."""
    from pluralist.training import train
    from pluralist.robust.reliability import rater_reliability
    from pluralist.training import NoiseSpec, TrainConfig

    split, bench, seen_rows_by_rater = embedded
    adversarial = {r for r, a in zip(synth.rater_ids, synth.adversarial) if a} & set(split.seen_raters)
    careless = {r for r, c in zip(synth.rater_ids, synth.careless) if c} & set(split.seen_raters)
    minority = {r for r, g in zip(synth.rater_ids, synth.rater_groups) if g == MINORITY}
    rows = []
    for family in families:
        for method in methods:
            rate = None if method in ("none", "em") else (true_rate or ASSUMED_RATE)   # em learns its own
            config = TrainConfig(seed=seed, val_fraction=TrainConfig.val_fraction if validation else 0.0)
            model, result, _ = train(bench.data, split.train, family, config=config,
                                     noise=NoiseSpec(method, rate or 0.0))
            row = {"family": family, "method": method, "assumed_rate": rate,
                   **clean_accuracy(model, bench, synth, split.seen_test)}
            if method == "em":
                row["em_flip_rate"] = result.noise["global_rate"]
            if validation and (method == "none" or (adversarial and method == "em")):
                rel = rater_reliability(model, bench.data, seen_rows_by_rater)
                row.update(flag_scores(rel.flagged, adversarial, minority, careless))
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def flag_scores(flagged: dict, adversarial: set, minority: set, careless: set = frozenset()) -> dict:
    """`flagged`: Reliability.flagged. Precision and recall of the sure flag, and of it with the possibly adversarial
    tier, where there are adversarial raters, and of the random flag where there are
    careless raters; always the ordinary raters flagged (false flags), and how many of
    the adversarial flags among them fell on the minority."""
    sure, possible = set(flagged["adversarial"]), set(flagged["possibly_adversarial"])
    random, planted = set(flagged["random"]), adversarial | careless
    out = {"false_adversarial_flags": len(sure - planted),
           "false_possible_flags": len(possible - planted),
           "false_random_flags": len(random - planted),
           "false_flags_in_minority": len((sure | possible) & minority - planted)}
    if careless:
        out["random_flag_precision"] = len(random & careless) / len(random) if random else None
        out["random_flag_recall"] = len(random & careless) / len(careless)
    if adversarial:
        for name, chosen in (("adversarial_flag", sure), ("adversarial_or_possible_flag", sure | possible)):
            hits = len(chosen & adversarial)
            out[f"{name}_precision"] = hits / len(chosen) if chosen else None
            out[f"{name}_recall"] = hits / len(adversarial)
    return out


def clean_share_references(synth, embedded, families, seed: int) -> list[dict]:
    """For each noise level e, plain training on the clean labels of a random (1 - 2e)^2
    of the training rows, from the noise-free draw (its comparisons and clean labels are
    those of every noisy draw with the same seed). A label flipped with probability e
    carries at most (1 - 2e)^2 of a clean label's Fisher information about a margin
    (all of that share at a margin of zero, less elsewhere), so this is a reference for
    what robust training on the noisy labels could reach: not a bound, a yardstick."""
    from pluralist.training import TrainConfig, train

    split, bench, _ = embedded
    rng = np.random.default_rng(seed)
    rows = []
    for level in NOISY_LEVELS:
        share = (1 - 2 * level) ** 2
        picked = np.sort(rng.choice(split.train, int(round(share * len(split.train))), replace=False))
        for family in families:
            model, _, _ = train(bench.data, picked, family, config=TrainConfig(seed=seed))
            row = {"family": family, "method": CLEAN_SHARE, "assumed_rate": None, "level": level,
                   "clean_share": share, **clean_accuracy(model, bench, synth, split.seen_test)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--families", nargs="+", default=["bt", "ideal_point", "lowrank"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[5, 6, 7, 8, 9])
    args = parser.parse_args()
    from pluralist.data import SynthConfig, generate
    from pluralist.fileio import write_json_atomic

    from pluralist.training.noise import NOISE_METHODS as methods

    conditions = [("symmetric", level, {"noise": level}) for level in (0.0, *NOISY_LEVELS)]
    conditions += [("adversarial", share, {"adversarial": share}) for share in (0.05, 0.2)]
    conditions += [("careless", 0.05, {"careless": 0.05})]
    # what early stopping on noisy validation labels is worth: heavy noise, no validation split
    conditions += [(NO_VALIDATION, 0.4, {"noise": 0.4})]
    methods_of = {"symmetric": methods, "adversarial": ["none", "em"], "careless": ["none"],
                  NO_VALIDATION: methods}
    out, seen_raters = [], set()
    for seed in args.seeds:
        for kind, level, config in conditions:
            synth = generate(SynthConfig(seed=seed, **config))
            true_rate = level if kind in ("symmetric", NO_VALIDATION) else 0.0
            embedded = embedded_split(synth, args.encoder)
            seen_raters.add(len(embedded[0].seen_raters))
            for row in run_condition(synth, embedded, args.families, methods_of[kind], true_rate,
                                     seed, validation=kind != NO_VALIDATION):
                out.append({"seed": seed, "condition": kind, "level": level, **row})
            if kind == "symmetric" and level == 0:
                out += [{"seed": seed, "condition": kind, **row}
                        for row in clean_share_references(synth, embedded, args.families, seed)]
    means = mean_over_seeds(out)
    write_json_atomic(RESULTS, {"encoder": args.encoder, "minority_group": MINORITY,
                                "assumed_rate_when_unknown": ASSUMED_RATE, "seeds": args.seeds,
                                "seen_raters": sorted(seen_raters),
                                "results": means, "per_seed": out, "targets": targets(out)})


KEY = ("condition", "level", "family", "method")


def mean_over_seeds(rows: list[dict]) -> list[dict]:
    """One row per condition, family and method: every measurement averaged over seeds
    (a flag precision over the seeds where anything was flagged)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in KEY), []).append(row)
    out = []
    for key, group in groups.items():
        mean = dict(zip(KEY, key), assumed_rate=group[0]["assumed_rate"])
        for field in group[0]:
            values = [r[field] for r in group if isinstance(r.get(field), (int, float))
                      and not isinstance(r.get(field), bool)]
            if field not in KEY and field not in ("seed", "assumed_rate") and values:
                mean[field] = float(np.mean(values))
        out.append(mean)
    return out


def targets(rows: list[dict]) -> dict:
    """The issue's targets, per family, from the per-seed rows: each difference between
    two options is taken within a seed, then averaged (with its standard error)."""
    seeds = sorted({r["seed"] for r in rows})
    out = {}
    for family in sorted({r["family"] for r in rows}):
        per_seed = PerSeed(rows, seeds, family)
        out[family] = {"seeds": len(seeds), **_noise_targets(per_seed), **_flag_targets(rows, family)}
        out[family]["met"] = targets_met(out[family])
    return out


class PerSeed:
    """One family's per-seed rows, a measurement read as an array over the seeds."""

    def __init__(self, rows: list[dict], seeds: list[int], family: str):
        self.rows, self.seeds, self.family = rows, seeds, family

    def values(self, kind, level, method, field="clean_accuracy") -> np.ndarray:
        cell = lambda r: (r["seed"], r["condition"], r["level"], r["family"], r["method"])  # noqa: E731
        return np.array([next(r[field] for r in self.rows if cell(r) == (seed, kind, level, self.family, method))
                         for seed in self.seeds], dtype=float)

    def gain(self, level, method, field="clean_accuracy", kind="symmetric") -> tuple[float, float | None]:
        """(mean, standard error) of method minus plain training, within seeds."""
        diff = self.values(kind, level, method, field) - self.values(kind, level, "none", field)
        return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else None


def _noise_targets(per_seed: PerSeed) -> dict:
    """Robust training's gain at 40% noise (with and without a validation split), what
    its best option costs on clean labels and the minority, and EM's flip rate."""
    from pluralist.training.noise import NOISE_METHODS

    robust = [m for m in NOISE_METHODS if m != "none"]
    best = max(robust, key=lambda m: per_seed.gain(0.4, m)[0])
    best_unguarded = max(robust, key=lambda m: per_seed.gain(0.4, m, kind=NO_VALIDATION)[0])
    gain40, loss0 = per_seed.gain(0.4, best), per_seed.gain(0.0, best)
    unguarded = per_seed.gain(0.4, best_unguarded, kind=NO_VALIDATION)
    return {
        "best_robust_at_0.4": best, "gain_at_0.4": gain40[0], "gain_at_0.4_se": gain40[1],
        "target_gain_at_0.4": 0.05,
        "clean_share_reference_at_0.4": float(per_seed.values("symmetric", 0.4, CLEAN_SHARE).mean()),
        "plain_at_0.4": float(per_seed.values("symmetric", 0.4, "none").mean()),
        "best_robust_at_0.4_without_validation": best_unguarded,
        "gain_at_0.4_without_validation": unguarded[0], "gain_at_0.4_without_validation_se": unguarded[1],
        "plain_at_0.4_without_validation": float(per_seed.values(NO_VALIDATION, 0.4, "none").mean()),
        "loss_at_0_of_that_option": -loss0[0], "loss_at_0_se": loss0[1], "target_loss_at_0": 0.005,
        **_minority_target(per_seed, best),
        "em_rate_at_0.2": float(per_seed.values("symmetric", 0.2, "em", "em_flip_rate").mean()),
        "target_em_rate_at_0.2": [0.15, 0.25]}


def _minority_target(per_seed: PerSeed, best: str) -> dict:
    """The largest drop the `best` option causes on the minority, over the noise levels."""
    minority = {level: per_seed.gain(level, best, "minority_clean_accuracy") for level in (0.0, *NOISY_LEVELS)}
    worst = min(minority, key=lambda level: minority[level][0])
    return {"largest_minority_drop_of_that_option": -minority[worst][0], "minority_drop_at": worst,
            "minority_drop_se": minority[worst][1], "target_minority_drop": 0.01}


def _flag_targets(rows: list[dict], family: str) -> dict:
    """The flags' precision and recall with 5% adversarial raters, plain training."""
    cell = ("adversarial", 0.05, family, "none")
    at_5pct = [r for r in rows if (r["condition"], r["level"], r["family"], r["method"]) == cell]
    mean = lambda field: _mean_known([r.get(field) for r in at_5pct])  # noqa: E731
    return {"flag_precision_at_5pct": mean("adversarial_flag_precision"),
            "flag_recall_at_5pct": mean("adversarial_flag_recall"),
            "flag_or_possible_precision_at_5pct": mean("adversarial_or_possible_flag_precision"),
            "flag_or_possible_recall_at_5pct": mean("adversarial_or_possible_flag_recall"),
            "target_flags": 0.9}


def targets_met(t: dict) -> dict:
    """Whether each target holds on the means over draws, as the issue states them (a flag
    score that could not be computed, no rater ever flagged, is not met)."""
    low, high = t["target_em_rate_at_0.2"]
    flags = [t[f"flag{tier}_{score}_at_5pct"] for tier in ("", "_or_possible") for score in ("precision", "recall")]
    return {"gain_at_0.4": t["gain_at_0.4"] >= t["target_gain_at_0.4"],
            "loss_at_0": t["loss_at_0_of_that_option"] <= t["target_loss_at_0"],
            "minority_drop": t["largest_minority_drop_of_that_option"] <= t["target_minority_drop"],
            "em_rate_at_0.2": low <= t["em_rate_at_0.2"] <= high,
            "flags_at_5pct": all(v is not None and v >= t["target_flags"] for v in flags[:2]),
            "flags_or_possible_at_5pct": all(v is not None and v >= t["target_flags"] for v in flags[2:])}


def _mean_known(values) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


if __name__ == "__main__":
    main()
