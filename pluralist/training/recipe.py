"""Train one family: build it, fit it with the one loop (and a label-noise strategy),
then calibrate its population and new-rater prior."""

from __future__ import annotations

import numpy as np

from ..models import PreferenceData, PreferenceModel, build_model, get_family
from ..errors import ModelError
from .calibrate import TRUST_SHOTS, choose_adapt_prior, choose_trust, fit_population, seen_as_new
from .loop import TrainConfig, TrainResult, fit
from .noise import NoiseSpec, make_strategy


def family_options(family: str, rank: int | None, options: dict) -> dict:
    """Merge --rank into the family's own option name."""
    cls = get_family(family)
    if rank is not None:
        if cls.rank_option is None:
            raise ModelError(f"family {family!r} has no rank")
        options = {**options, cls.rank_option: rank}
    return options


def train(data: PreferenceData, rows, family: str, *, options: dict | None = None,
          config: TrainConfig = TrainConfig(), noise: NoiseSpec = NoiseSpec()
          ) -> tuple[PreferenceModel, TrainResult, dict]:
    """Build, fit (with a label-noise strategy when asked), then choose the new-rater prior."""
    model = build_model(family, dim=data.dim, raters=data.raters, seed=config.seed, **(options or {}))
    strategy = make_strategy(noise, data, model, lr=config.lr, seed=config.seed)
    result = fit(model, data, np.asarray(rows), config, noise=strategy)
    fit_population(model, data, rows, seed=config.seed)
    prior = choose_adapt_prior(model, data, seen_as_new(data, result.train_rows, result.val_rows,
                                                        seed=config.seed))
    trials = seen_as_new(data, result.train_rows, result.val_rows, shots=TRUST_SHOTS,
                         seed=config.seed)
    return model, result, {**prior, "trust": choose_trust(model, data, trials)["chosen"]}
