import numpy as np

from pluralist.data.synthetic import ATTRIBUTES, GROUP_WEIGHTS, SynthConfig, generate

SMALL = SynthConfig(raters=60, comparisons_per_rater=40, responses_per_prompt=30, prompts=8)


def test_deterministic_and_sized():
    a, b = generate(SMALL), generate(SMALL)
    assert np.array_equal(a.table.chosen, b.table.chosen)
    assert len(a.table) == 60 * 40 and len(a.texts) == 8 * 30
    assert generate(SynthConfig(**{**SMALL.__dict__, "seed": 1})).table.chosen.tolist() != \
        a.table.chosen.tolist()


def test_default_size_matches_the_demo_spec():
    bench = generate()
    assert len(bench.texts) == 2000 and len(bench.table) == 40000 and len(bench.rater_ids) == 400


def test_attributes_are_visible_in_the_words():
    bench = generate(SMALL)
    col = {name: bench.attributes[:, i] for i, name in enumerate(ATTRIBUTES)}
    has = lambda needle: np.array([needle in t for t in bench.texts])
    bulleted = np.array([any(line.startswith("1. **Step") for line in t.splitlines()) for t in bench.texts])
    assert np.array_equal(bulleted, col["bullets"] == 1)
    assert np.array_equal(has("The technical reason"), col["technical"] == 1)
    assert np.array_equal(has("😄"), col["humour"] == 1)
    assert np.array_equal(has("I might be wrong"), col["hedging"] == 1)
    lengths = np.array([len(t) for t in bench.texts])
    assert lengths[col["detail"] == 1].mean() > 1.5 * lengths[col["detail"] == 0].mean()


def test_groups_disagree_on_some_attributes_and_agree_on_others():
    weights = np.array(list(GROUP_WEIGHTS.values()))
    signs = np.sign(weights)
    controversial = (signs.max(0) > 0) & (signs.min(0) < 0)
    assert len(GROUP_WEIGHTS) >= 4 and controversial.sum() >= 3 and (~controversial).sum() >= 2


def test_labels_follow_the_true_utilities():
    bench = generate(SynthConfig(raters=200, comparisons_per_rater=50))
    assert 0.75 < bench.bayes_accuracy() < 0.95
    # the recorded label agrees with the true utility about as often as Bayes says
    assert abs(np.mean(bench.p_chosen > 0.5) - bench.bayes_accuracy()) < 0.03


def test_noise_and_adversarial_raters_lower_label_quality():
    clean = generate(SMALL).bayes_accuracy()
    noisy = generate(SynthConfig(**{**SMALL.__dict__, "noise": 0.3})).bayes_accuracy()
    assert noisy < clean - 0.1
    adv = generate(SynthConfig(**{**SMALL.__dict__, "adversarial": 0.2}))
    assert adv.adversarial.sum() == 12
    truth = adv.truth()
    assert sum(r["adversarial"] for r in truth["raters"]) == 12
    assert len(truth["p_chosen"]) == len(adv.table)


def test_flipped_labels_are_recorded_and_match_the_noise_rate():
    bench = generate(SynthConfig(**{**SMALL.__dict__, "noise": 0.2}))
    assert abs(bench.flipped.mean() - 0.2) < 0.03
    adv = generate(SynthConfig(**{**SMALL.__dict__, "adversarial": 0.2}))
    rater_index = {r: i for i, r in enumerate(adv.rater_ids)}
    rows_adv = adv.adversarial[[rater_index[r] for r in adv.table.rater]]
    assert np.array_equal(adv.flipped, rows_adv)


def test_position_biased_raters_are_found_and_the_rest_of_the_data_is_unchanged():
    from pluralist.robust.position import position_bias

    config = SynthConfig(raters=80, comparisons_per_rater=100, responses_per_prompt=30, prompts=8)
    plain, biased = generate(config), generate(SynthConfig(**{**config.__dict__, "position_bias": 0.1}))
    unbiased_rows = ~biased.position_biased[np.repeat(np.arange(80), 100)]
    # the order shown is recorded for every comparison, and only the biased raters' labels change
    assert set(plain.table.chosen_first.tolist()) == {0, 1}
    assert np.array_equal(plain.table.chosen[unbiased_rows], biased.table.chosen[unbiased_rows])
    assert biased.position_biased.sum() == 8
    table = biased.table
    result, rule = position_bias(table.chosen_first, table.rows_by_rater(), min_comparisons=16)
    flagged = {rater for rater, entry in result.items() if entry["position_biased"]}
    truth = {r for r, b in zip(biased.rater_ids, biased.position_biased) if b}
    assert flagged == truth and "median share" in rule
    assert all(result[r]["chose_first_share"] > 0.8 for r in truth)
    # nobody is flagged where no order is recorded
    unknown = np.full(len(table), -1, dtype=np.int8)
    assert position_bias(unknown, table.rows_by_rater(), 16)[0] == {}


def test_careless_raters_pick_at_random_and_the_rest_of_the_data_is_unchanged():
    config = SynthConfig(raters=80, comparisons_per_rater=100, responses_per_prompt=30, prompts=8)
    plain, careless = generate(config), generate(SynthConfig(**{**config.__dict__, "careless": 0.1}))
    assert careless.careless.sum() == 8 and not plain.careless.any()
    on = careless.careless[np.repeat(np.arange(80), 100)]
    assert np.array_equal(plain.table.chosen[~on], careless.table.chosen[~on])
    # a careless rater's label is a coin: agrees with their own utility about half the time
    agrees = careless.table.chosen[on] == plain.table.chosen[on]
    assert abs(agrees.mean() - 0.5) < 0.1 and np.all(careless.p_chosen[on] == 0.5)
    assert not careless.flipped[on].any()           # a content-blind choice, not a flipped label
    assert sum(r["careless"] for r in careless.truth()["raters"]) == 8
