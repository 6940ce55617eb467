"""The verification rule of an improvement (pure): pass, fail, and not enough data yet."""

from app.services.improvement_verification import Verdict, WindowFigures, verify


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
    result = verify(csat(50, 20, complaints=10), csat(50, 40, complaints=18), min_sample=30)
    assert result.verdict == Verdict.FAILED
    assert "同类投诉量" in result.reason


def test_nothing_improved_fails():
    result = verify(csat(50, 25, complaints=10), csat(50, 25, complaints=10), min_sample=30)
    assert result.verdict == Verdict.FAILED


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
