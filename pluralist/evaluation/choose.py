"""`--family auto`: choose the family on honest held-out data, bt always a candidate.

The rows given (a whole file for `train`, the seen raters' training rows for
`compare`) are split again: a fifth of the raters are held back entirely and
play new raters, and the others' comparisons are held out by texts. Every
candidate is trained on the rest and scored by the mean of its accuracy on the
held-out comparisons of the raters it knows and its accuracy on the held-back
raters after AUTO_K of their comparisons (fewer where they have fewer). Where one
such split holds back fewer than MIN_HELD_BACK raters (a file of 8 raters holds
back 2), the choice rests on a rater or two and follows their noise; so the split
is drawn again with other seeds, up to MAX_SPLITS times, until MIN_HELD_BACK raters
have been held back in all, and the scores are averaged over the splits (repeated
random sub-sampling validation: Kohavi, 1995, "A study of cross-validation and
bootstrap for accuracy estimation and model selection", on the variance of a single
hold-out estimate). The first split is the one a single split would be, so files
with many raters are chosen on exactly as before. The best mean score wins; a tie
goes to bt, the simplest.
"""

from __future__ import annotations

import numpy as np

from ..data.split import split_raters
from ..data.table import ComparisonTable
from ..encode import TableEmbeddings
from ..errors import DataError
from ..models import PreferenceData
from ..training import TrainConfig
from .protocol import Benchmark, EvalConfig, compare

AUTO_K = 20
HELD_BACK = 0.2
MIN_HELD_BACK = 20
MAX_SPLITS = 5
RULE = (f"each candidate trained on the rest of the data and scored by the mean of its accuracy on "
        f"held-out comparisons (texts held out) of the raters it knows and on raters held back "
        f"entirely ({HELD_BACK:.0%}) after {AUTO_K} of their comparisons, averaged over up to "
        f"{MAX_SPLITS} such splits until {MIN_HELD_BACK} raters were held back; ties go to bt")


def choose_family(table: ComparisonTable, emb: TableEmbeddings, candidates: list[str],
                  config: TrainConfig, *, seed: int = 0, on_done=None) -> dict:
    """{"chosen": family, "scores": {family: {...}}, "splits": n, "rule": how}; bt always
    a candidate."""
    candidates = ["bt", *[c for c in candidates if c not in ("bt", "auto")]]
    splits = inner_splits(len(table.raters))
    runs = [_scores_on_split(table, emb, candidates, config, seed + i, on_done) for i in range(splits)]
    scores = {family: {key: float(np.mean([run[family][key] for run in runs])) for key in runs[0][family]}
              for family in candidates}
    chosen = max(scores, key=lambda f: (scores[f]["score"], f == "bt"))
    return {"chosen": chosen, "scores": scores, "splits": splits, "rule": RULE}


def inner_splits(raters: int) -> int:
    """How many inner splits: enough that MIN_HELD_BACK raters are held back over all of
    them (one split where a fifth of the raters is that many already), at most MAX_SPLITS."""
    per_split = max(1, int(round(HELD_BACK * raters)))
    return min(MAX_SPLITS, -(-MIN_HELD_BACK // per_split))


def _scores_on_split(table, emb, candidates, config, seed, on_done) -> dict:
    inner = split_raters(table, unseen=HELD_BACK, seed=seed, by=config.holdout)
    if not inner.unseen_raters or not len(inner.seen_test):
        raise DataError("too few raters or comparisons to choose a family on held-out data; "
                        "name the family")
    bench = Benchmark(table, PreferenceData.from_table(table, emb, raters=inner.seen_raters), inner)
    shots = tuple(sorted({0, min(AUTO_K, _largest_pool(table, inner))}))
    results = compare(bench, {f: {} for f in candidates}, config,
                      EvalConfig(shots=shots, draws=1, seed=seed, reliability=False), on_done=on_done)
    return {family: _score(result, shots[-1]) for family, result in results.items()}


def _largest_pool(table: ComparisonTable, split) -> int:
    return max((len(rows) for rows in table.rows_by_rater(split.unseen_pool).values()), default=0)


def _score(result: dict, k: int) -> dict:
    seen = result["seen"].get("accuracy", 0.0)
    point = next(p for p in result["unseen_kshot"] if p["k"] == k)
    held_back = point.get("accuracy", 0.0)
    return {"seen_accuracy": seen, "held_back_accuracy": held_back, "held_back_k": k,
            "score": (seen + held_back) / 2}
