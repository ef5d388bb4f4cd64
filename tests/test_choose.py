"""`--family auto`: how many inner splits it averages over, and that it averages them."""

import numpy as np
import pytest

from pluralist.data import SynthConfig, generate
from pluralist.encode import EmbedSpec, embed
from pluralist.evaluation import choose
from pluralist.training import TrainConfig


@pytest.mark.parametrize("raters, splits", [(6, 5), (8, 5), (50, 2), (99, 1), (100, 1), (425, 1)])
def test_few_raters_are_held_back_over_several_splits(raters, splits):
    # 6 raters: 1 held back a split, so 5 splits (the most); 50: 10 a split, 2 reach 20;
    # 100 or more: one split already holds back 20
    assert choose.inner_splits(raters) == splits


def test_the_choice_averages_the_scores_of_every_split(tmp_path):
    table = generate(SynthConfig(seed=1, raters=8, comparisons_per_rater=60, prompts=2,
                                 responses_per_prompt=30)).table
    emb = embed(table, EmbedSpec("hashing:32", cache_dir=str(tmp_path)))
    config = TrainConfig(epochs=3)
    choice = choose.choose_family(table, emb, ["lowrank"], config, seed=3)
    per_split = [choose._scores_on_split(table, emb, ["bt", "lowrank"], config, 3 + i, None)
                 for i in range(5)]
    assert choice["splits"] == 5
    for family in ("bt", "lowrank"):
        expected = np.mean([split[family]["score"] for split in per_split])
        assert choice["scores"][family]["score"] == pytest.approx(expected)
    assert len({split["bt"]["score"] for split in per_split}) > 1   # the splits differ
    best = max(choice["scores"], key=lambda f: choice["scores"][f]["score"])
    assert choice["chosen"] == best
