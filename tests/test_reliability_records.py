"""The typed reliability records: what they hold, how they judge, what metrics.json gets."""

import json
import math

import numpy as np
import pytest

from pluralist.metrics import Z90
from pluralist.robust import reliability
from pluralist.robust.reliability import FLAGS, RaterReliability, Reliability

RATER_KEYS = {"comparisons", "flip_rate", "flip_rate_interval90", "anchor_comparisons", "own_model_accuracy",
              "own_model_accuracy_interval90", "reversal_gain", "reversal_standard_error",
              "reversal_interval90", "flags"}
RESULT_KEYS = {"raters", "flagged", "median_reversal_gain", "median_own_model_accuracy", "reversal_z_floor",
               "per_rater_preferences", "position_bias"}


def rater(gain: float, se: float, accuracy: float = 0.8, **more) -> RaterReliability:
    """A measured rater, not yet flagged: the gain's interval from its standard error."""
    return RaterReliability(
        comparisons=100, flip_rate=0.1, flip_rate_interval90=(0.05, 0.2), anchor_comparisons=25,
        own_model_accuracy=accuracy, own_model_accuracy_interval90=(accuracy - 0.08, accuracy + 0.08),
        reversal_gain=gain, reversal_standard_error=se,
        reversal_interval90=(gain - Z90 * se, gain + Z90 * se), **more)


def test_a_raters_standard_error_is_measured_from_the_gains_not_worked_back(monkeypatch):
    gains = np.random.default_rng(0).normal(-0.2, 0.4, 60)
    # the rater's own cross-fitted margins: 45 of 60 labels on the model's side
    monkeypatch.setattr(reliability, "cross_fitted_margins",
                        lambda model, rows, data, rng: np.r_[np.ones(45), -np.ones(15)])
    record = reliability._measure(None, None, np.arange(60), gains, None, np.random.default_rng(0))
    se = gains.std(ddof=1) / math.sqrt(60)
    assert record.reversal_standard_error == pytest.approx(se, rel=1e-15)
    assert record.reversal_interval90 == pytest.approx((gains.mean() - Z90 * se, gains.mean() + Z90 * se))
    assert record.reversal_z == pytest.approx(gains.mean() / se)
    assert record.own_model_accuracy == 0.75 and record.comparisons == 60
    assert record.chose_first_share is None and record.flags == ()


def test_a_rater_without_spread_has_a_z_score_of_zero():
    assert rater(0.3, 0.0).reversal_z == 0.0


def test_to_dict_is_plain_json_and_leaves_out_position_fields_not_assessed():
    plain = rater(-0.2, 0.05).to_dict()
    assert set(plain) == RATER_KEYS
    assert isinstance(plain["reversal_interval90"], list) and isinstance(plain["flags"], list)
    leaning = rater(-0.2, 0.05, chose_first_share=0.9, chose_first_interval90=(0.8, 0.95)).to_dict()
    assert set(leaning) == RATER_KEYS | {"chose_first_share", "chose_first_interval90"}
    assert leaning["chose_first_interval90"] == [0.8, 0.95]
    assert json.loads(json.dumps(leaning)) == leaning


def _judged(per_rater: bool) -> Reliability:
    """41 ordinary raters, one surely reversed, one coin, one leaning on the first position."""
    measured = {f"o{i:02d}": rater(-0.2 + 0.001 * i, 0.05) for i in range(41)}
    measured["reversed"] = rater(0.4, 0.05)
    measured["coin"] = rater(0.0, 0.05, accuracy=0.5)
    measured["leaning"] = rater(-0.2, 0.05, chose_first_share=1.0, chose_first_interval90=(0.95, 1.0))
    positions = {"leaning": {"chose_first_share": 1.0, "chose_first_interval90": [0.95, 1.0], "position_biased": True},
                 "o00": {"chose_first_share": 0.5, "chose_first_interval90": [0.4, 0.6], "position_biased": False}}
    return reliability._judge(measured, positions, per_rater, "assessed on 2 raters")


def test_judging_flags_each_rater_against_the_typical_one():
    result = _judged(per_rater=True)
    assert result.flagged == {"adversarial": ["reversed"], "possibly_adversarial": [], "random": ["coin"],
                              "position_biased": ["leaning"]}
    assert result.raters["reversed"].flags == ("adversarial",) and result.raters["o01"].flags == ()
    assert result.median_own_model_accuracy == 0.8 and result.per_rater_preferences
    assert result.reversal_z_floor == pytest.approx(reliability.outlier_floor(
        np.array([r.reversal_z for r in result.raters.values()])))


def test_without_per_rater_preferences_only_the_sure_flags_are_given():
    result = _judged(per_rater=False)
    assert result.flagged["adversarial"] == ["reversed"] and result.flagged["random"] == []
    assert result.flagged["position_biased"] == ["leaning"]   # the data's, not the model's


def test_the_whole_result_to_dict_has_the_metrics_keys_and_no_rule():
    plain = _judged(per_rater=True).to_dict()
    assert set(plain) == RESULT_KEYS
    assert set(plain["flagged"]) == set(FLAGS) and plain["flagged"]["random"] == ["coin"]
    assert plain["raters"]["leaning"]["chose_first_share"] == 1.0
    assert "chose_first_share" not in plain["raters"]["o01"]
    assert json.loads(json.dumps(plain)) == plain


def test_nobody_assessed_gives_no_medians():
    empty = reliability._judge({}, {}, True, "not assessed")
    assert empty.raters == {} and empty.reversal_z_floor is None and empty.median_reversal_gain is None
    assert all(raters == [] for raters in empty.flagged.values())
    assert json.loads(json.dumps(empty.to_dict()))["median_own_model_accuracy"] is None
