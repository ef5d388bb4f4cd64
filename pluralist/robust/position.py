"""Position bias: does a rater pick the response shown first (or second)
whatever it says?

Needs data that record which response was shown first
(ComparisonTable.chosen_first). A rater's share of choices for the
first-shown response is compared with the typical (median) share of all
assessed raters rather than with one half, so a dataset whose order carries
information (say, the better response usually shown first) does not make
everyone look biased, and the biased raters themselves do not move the
reference much. Flagged: the 90% Wilson interval of the share excludes the
typical share and the share differs from it by at least POSITION_LEAN,
a lean large enough to matter: with 100 comparisons an unbiased rater
reaches it about once in 10,000 (a binomial tail); a smaller lean flags some
honest raters by chance in a population of hundreds.
"""

from __future__ import annotations

import numpy as np

from ..metrics import wilson_interval

POSITION_LEAN = 0.2
NOT_ASSESSED = "not assessed: the data do not record which response was shown first"


def position_bias(chosen_first: np.ndarray, rows_by_rater: dict[str, np.ndarray],
                  min_comparisons: int) -> tuple[dict[str, dict], str]:
    """({rater: share, interval, flag} for raters with enough recorded positions,
    a sentence saying how it was assessed)."""
    known = {rater: chosen_first[rows][chosen_first[rows] >= 0] for rater, rows in rows_by_rater.items()}
    known = {rater: firsts for rater, firsts in known.items() if len(firsts) >= min_comparisons}
    if not known:
        return {}, NOT_ASSESSED
    typical = float(np.median([firsts.mean() for firsts in known.values()]))
    out = {}
    for rater, firsts in known.items():
        share = float(firsts.mean())
        low, high = wilson_interval(float(firsts.sum()), len(firsts))
        out[rater] = {"chose_first_share": share, "chose_first_interval90": [low, high],
                      "position_biased": not low <= typical <= high and abs(share - typical) >= POSITION_LEAN}
    return out, (f"assessed on {len(out)} raters: their share of choices for the response shown first "
                 f"against the median share {typical:.2f}; position-biased when its 90% interval excludes "
                 f"the median share and differs from it by at least {POSITION_LEAN}")
