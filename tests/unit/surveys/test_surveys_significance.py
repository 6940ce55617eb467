"""Whether a change is more than noise: NPS, shares and counts, against hand-computed values."""

import math

import pytest

from surveys import significance as sig


def test_nps_variance_of_the_per_answer_score():
    # 40 % promoters, 20 % detractors: E[s^2] = 10000 * 0.6 = 6000, NPS 20, variance 6000 - 400
    assert sig.nps_variance(400, 160, 80) == pytest.approx(5600)
    # all promoters: every answer scores +100, no spread
    assert sig.nps_variance(50, 50, 0) == pytest.approx(0)


def test_a_three_point_nps_drop_on_400_answers_is_noise():
    # before: NPS 20, se^2 = 5600 / 400 = 14; after 37 % / 20 %: NPS 17,
    # variance 5700 - 289 = 5411, se^2 = 13.5275; se = sqrt(27.5275) = 5.2467
    change = sig.nps_change((400, 160, 80), (400, 148, 80))
    assert change.difference == pytest.approx(-3.0)
    assert change.se == pytest.approx(math.sqrt(27.5275))
    assert change.z == pytest.approx(-0.5718, abs=1e-4)
    assert not change.significant and change.direction == "same"


def test_a_twenty_point_nps_drop_on_400_answers_is_worse():
    # after 30 % / 30 %: NPS 0, variance 6000, se^2 = 15; se = sqrt(29) = 5.3852, z = -3.714
    change = sig.nps_change((400, 160, 80), (400, 120, 120))
    assert change.difference == pytest.approx(-20.0)
    assert change.z == pytest.approx(-20 / math.sqrt(29))
    assert change.significant and change.direction == "worse"


def test_pooled_two_proportion_test_in_percentage_points():
    # 60 % of 200 vs 50 % of 200: pooled p = 0.55, se = sqrt(0.55 * 0.45 * 0.01) = 0.049749
    change = sig.share_change((200, 120), (200, 100))
    assert change.difference == pytest.approx(-10.0)
    assert change.se == pytest.approx(4.9749, abs=1e-4)
    assert change.z == pytest.approx(-2.0101, abs=1e-4)
    assert change.direction == "worse"
    # the same shares on 100 answers each: se = sqrt(0.2475 * 0.02) = 0.070356, z = -1.4213
    small = sig.share_change((100, 60), (100, 50))
    assert small.z == pytest.approx(-1.4213, abs=1e-4)
    assert small.direction == "same"


def test_counts_of_two_equal_periods_are_poisson():
    # 30 -> 12 complaints: z = -18 / sqrt(42) = -2.777, fewer is better
    fell = sig.count_change(30, 12)
    assert fell.z == pytest.approx(-18 / math.sqrt(42)) and fell.direction == "better"
    # 10 -> 18: z = 8 / sqrt(28) = 1.512, within chance
    assert sig.count_change(10, 18).direction == "same"
    assert sig.count_change(0, 0) == sig.Change(0.0, 0.0, None, False, "same")


def test_the_threshold_is_1_96_both_ways():
    assert sig.judge(1.96, 1.0).direction == "better"
    assert sig.judge(1.95, 1.0).direction == "same"
    assert sig.judge(-1.96, 1.0).direction == "worse"
    assert sig.judge(-1.96, 1.0, higher_is_better=False).direction == "better"


def test_no_spread_at_all_makes_any_difference_certain():
    # every answer a promoter before, a detractor after: se 0, no z, but certainly worse
    change = sig.nps_change((40, 40, 0), (40, 0, 40))
    assert change.se == 0 and change.z is None
    assert change.significant and change.direction == "worse"


def test_explain_gives_the_figures_in_words():
    text = sig.nps_change((400, 160, 80), (400, 148, 80)).explain()
    assert "差值 -3，标准误 5.2，z = -0.57" in text and "不显著" in text
    assert sig.count_change(30, 12).explain(" 件").startswith("差值 -18 件，标准误 6.5 件，")
