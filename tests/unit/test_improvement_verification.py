"""The verification rule of an improvement (pure): pass, fail, not enough data yet, and not
started while actions are still to finish."""

from app.services.improvement_verification import Verdict, WindowFigures, pending, verify


def csat(n: int, good: int, complaints: int = 0) -> WindowFigures:
    return WindowFigures(complaints=complaints, csat_n=n, csat_good=good)


def test_fewer_complaints_and_better_csat_pass():
    result = verify(csat(40, 20, complaints=30), csat(40, 32, complaints=12), min_sample=30)
    assert result.verdict == Verdict.PASSED
    assert result.holds
    complaints, sat, nps = result.signals
    assert (complaints.before, complaints.after, complaints.change) == (30, 12, "better")
    assert (sat.before, sat.after, sat.n_before, sat.n_after) == (50.0, 80.0, 40, 40)
    assert not nps.usable  # no NPS answers: shown, but not judged


def test_complaints_alone_can_pass_when_surveys_are_too_few():
    result = verify(csat(5, 1, complaints=20), csat(4, 4, complaints=8), min_sample=30)
    assert result.verdict == Verdict.PASSED
    assert [s.usable for s in result.signals] == [True, False, False]


def test_complaints_rising_fails_even_if_csat_rose():
    # 10 -> 25 complaints: z = 15 / sqrt(35) = 2.54
    result = verify(csat(50, 20, complaints=10), csat(50, 40, complaints=25), min_sample=30)
    assert result.verdict == Verdict.FAILED
    assert "同类投诉量 显著变差" in result.reason


def test_a_small_rise_of_complaints_within_chance_does_not_fail_a_significant_csat_rise():
    # 10 -> 14 complaints: z = 4 / sqrt(24) = 0.82, well within chance
    result = verify(csat(50, 20, complaints=10), csat(50, 40, complaints=14), min_sample=30)
    complaints, sat, _ = result.signals
    assert (complaints.change, complaints.z, complaints.leans_worse) == ("same", 0.82, False)
    assert sat.change == "better" and result.verdict == Verdict.PASSED


def test_a_pass_is_withheld_while_another_signal_clearly_leans_the_other_way():
    # 10 -> 18 complaints: z = 8 / sqrt(28) = 1.51, not significant but beyond one-sided 10 %
    result = verify(csat(50, 20, complaints=10), csat(50, 40, complaints=18), min_sample=30)
    complaints, sat, _ = result.signals
    assert (complaints.change, complaints.z, complaints.leans_worse) == ("same", 1.51, True)
    assert sat.change == "better"
    assert result.verdict == Verdict.FAILED and not result.holds
    assert "满意度（CSAT，%） 显著改善" in result.reason
    assert "同类投诉量（z = +1.51）朝相反方向变化" in result.reason
    # not a conclusive failure: after the window a manager may still accept it (人工认定)
    assert not result.got_worse and result.inconclusive


def test_fewer_complaints_do_not_pass_while_nps_fell_from_35_to_9():
    # what an audit saw: complaints 30 -> 10 (z = -3.16) while NPS 35 -> 9 on 50 answers each
    before = WindowFigures(complaints=30, nps_n=50, promoters=25, detractors=8)
    after = WindowFigures(complaints=10, nps_n=50, promoters=18, detractors=13)
    result = verify(before, after, min_sample=30)
    complaints, _, nps = result.signals
    assert complaints.change == "better"
    assert (nps.before, nps.after, nps.change) == (34.0, 10.0, "same")
    assert nps.z is not None and nps.z <= -1.28 and nps.leans_worse
    assert result.verdict == Verdict.FAILED and "净推荐值（NPS）" in result.reason
    # a fall within chance does not block: NPS 34 -> 30 on the same samples
    after = WindowFigures(complaints=10, nps_n=50, promoters=24, detractors=9)
    assert verify(before, after, min_sample=30).verdict == Verdict.PASSED


def test_a_small_nps_fall_on_a_large_noisy_sample_is_no_significant_change():
    # NPS 20 -> 17 on 400 answers each: z = -0.57, within chance; nothing else moved either
    before = WindowFigures(nps_n=400, promoters=160, detractors=80)
    after = WindowFigures(nps_n=400, promoters=148, detractors=80)
    result = verify(before, after, min_sample=30)
    nps = result.signals[2]
    assert (nps.before, nps.after, nps.change, nps.z) == (20.0, 17.0, "same", -0.57)
    assert "不显著" in nps.explain
    assert result.verdict == Verdict.FAILED and "没有显著改善" in result.reason
    assert "变差" not in result.reason


def test_a_large_nps_fall_on_the_same_sample_is_worse():
    before = WindowFigures(nps_n=400, promoters=160, detractors=80)
    after = WindowFigures(nps_n=400, promoters=120, detractors=120)
    result = verify(before, after, min_sample=30)
    assert result.signals[2].change == "worse"
    assert result.verdict == Verdict.FAILED and "净推荐值（NPS） 显著变差" in result.reason


def test_a_small_csat_rise_does_not_pass():
    # 60 % -> 70 % of 40 ratings: pooled p = 0.65, se = 0.1067, z = 0.94
    result = verify(csat(40, 24), csat(40, 28), min_sample=30)
    assert result.signals[1].change == "same"
    assert result.verdict == Verdict.FAILED


def test_pending_has_no_verdict_and_says_when_verification_starts():
    waiting = pending(2)
    assert waiting.verdict == Verdict.PENDING and not waiting.started and not waiting.holds
    assert waiting.signals == () and "还有 2 项整改措施未完成" in waiting.reason
    assert "整改措施完成后开始验证" in pending(0).reason


def test_nothing_improved_fails():
    result = verify(csat(50, 25, complaints=10), csat(50, 25, complaints=10), min_sample=30)
    assert result.verdict == Verdict.FAILED
    assert [s.change for s in result.signals] == ["same", "same", "unknown"]


def test_nps_falling_fails():
    before = WindowFigures(nps_n=40, promoters=20, detractors=5)
    after = WindowFigures(nps_n=40, promoters=10, detractors=15)
    result = verify(before, after, min_sample=30)
    assert result.verdict == Verdict.FAILED
    assert result.signals[2].before == 37.5 and result.signals[2].after == -12.5


def test_small_samples_are_not_enough_data():
    result = verify(csat(10, 2, complaints=2), csat(12, 11, complaints=0), min_sample=30)
    assert result.verdict == Verdict.INSUFFICIENT
    assert not result.holds
    assert "样本量不足" in result.reason


def test_a_running_window_is_not_enough_data_yet_even_with_good_figures():
    result = verify(csat(40, 10, complaints=30), csat(40, 35, complaints=2), days_left=12)
    assert result.verdict == Verdict.INSUFFICIENT
    assert result.days_left == 12 and "12 天" in result.reason
    assert result.label == "观察期中，暂不判断"


def test_min_sample_boundary():
    assert verify(csat(30, 10), csat(30, 20), min_sample=30).verdict == Verdict.PASSED
    assert verify(csat(30, 10), csat(29, 20), min_sample=30).verdict == Verdict.INSUFFICIENT
    assert verify(WindowFigures(complaints=3), WindowFigures(complaints=1)).verdict == (
        Verdict.INSUFFICIENT
    )


def test_to_dict_keeps_sample_sizes():
    data = verify(csat(40, 20, complaints=30), csat(40, 32, complaints=12)).to_dict()
    assert data["verdict"] == "passed"
    assert {s["name"]: (s["n_before"], s["n_after"]) for s in data["signals"]}["csat"] == (40, 40)
