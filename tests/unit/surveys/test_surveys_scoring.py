"""Per-response scores and incremental aggregates (CSAT, NPS, CES, 100-point index)."""

import pytest

from surveys import MetricSums, ResponseScores, aggregate, is_detractor, score_response
from surveys.scoring import half_up


def test_score_response_uses_key_questions(defn, answers):
    scores = score_response(defn, answers)
    assert (scores.csat, scores.nps, scores.ces) == (5, 10, 6)
    # ratings: csat 5, aspects speed 5, staff 4 -> (100 + 100 + 75) / 3
    assert scores.ratings == (5, 5, 4)
    assert scores.index == pytest.approx(275 / 3)


def test_score_response_without_answers(defn):
    assert score_response(defn, {}) == ResponseScores()


def test_csat_top_two_share_and_mean():
    report = aggregate(ResponseScores(csat=c) for c in [5, 4, 3, 2, 1, 5, 4, 4])
    assert report.csat.n == 8
    assert report.csat.value == pytest.approx(5 / 8)
    assert report.csat_mean.value == pytest.approx(28 / 8)


def test_nps_exact_promoters_and_detractors():
    values = [10, 9, 9, 8, 7, 6, 0, 3, 10, 5]
    report = aggregate(ResponseScores(nps=v) for v in values)
    assert (report.promoters, report.passives, report.detractors) == (4, 2, 4)
    assert report.nps.n == 10
    assert report.nps.value == pytest.approx(0.0)
    report = aggregate(ResponseScores(nps=v) for v in [10, 9, 8, 0])
    assert report.nps.value == pytest.approx(25.0)


def test_ces_mean():
    report = aggregate(ResponseScores(ces=v) for v in [7, 6, 2])
    assert report.ces.value == pytest.approx(5.0)
    assert report.ces.n == 3


def test_index_maps_five_points_to_hundred():
    report = aggregate([ResponseScores(ratings=(5, 4, 3, 2, 1))])
    assert report.index.value == pytest.approx(50.0)
    assert aggregate([ResponseScores(ratings=(5,))]).index.value == 100.0
    assert aggregate([ResponseScores(ratings=(1,))]).index.value == 0.0
    assert report.index.n == 1


def test_no_responses_gives_none_not_division_by_zero():
    report = MetricSums().report(min_sample=1)
    for figure in (report.csat, report.csat_mean, report.nps, report.ces, report.index):
        assert figure.value is None and figure.n == 0 and figure.too_small
    assert report.responses == 0


def test_metrics_missing_from_some_responses_have_their_own_n():
    report = aggregate([ResponseScores(csat=5), ResponseScores(nps=3), ResponseScores()])
    assert report.responses == 3
    assert report.csat.n == 1 and report.nps.n == 1 and report.ces.n == 0
    assert report.ces.value is None


def test_min_sample_marks_small_groups():
    scores = [ResponseScores(csat=4)] * 5
    assert aggregate(scores, min_sample=5).csat.too_small is False
    assert aggregate(scores, min_sample=6).csat.too_small is True


def test_merging_sums_equals_computing_at_once():
    scores = [
        ResponseScores(csat=c, nps=n, ces=e, ratings=(c,))
        for c, n, e in [(5, 10, 7), (2, 3, 2), (4, 8, 5), (1, 0, 1), (3, 9, 4)]
    ]
    left = MetricSums()
    for item in scores[:2]:
        left = left.add(item)
    right = MetricSums()
    for item in scores[2:]:
        right = right.add(item)
    assert left.merge(right) == left + right
    assert (left + right).report() == aggregate(scores)


def test_sums_round_trip_through_a_rollup_row():
    sums = MetricSums.of(ResponseScores(csat=4, nps=9, ces=3, ratings=(4, 2)))
    assert MetricSums.from_dict(sums.to_dict()) == sums
    assert MetricSums.from_dict({}) == MetricSums()


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        (ResponseScores(nps=6), True),
        (ResponseScores(nps=7), False),
        (ResponseScores(csat=2), True),
        (ResponseScores(csat=3, nps=9), False),
        (ResponseScores(csat=1, nps=10), True),
        (ResponseScores(), False),
    ],
)
def test_is_detractor(scores, expected):
    assert is_detractor(scores) is expected


def test_figures_round_a_half_away_from_zero_on_the_digits_shown():
    from surveys.scoring import half_up

    # NPS of 1 promoter and 10 detractors in 16 answers: -56.25 reads as -56.3 (四舍五入),
    # where Python's round gives -56.2 (a half to the even digit)
    assert round(-56.25, 1) == -56.2 and half_up(-56.25, 1) == -56.3
    assert half_up(43.75, 1) == 43.8 and half_up(0.125, 2) == 0.13
    assert half_up(2.675, 2) == 2.68  # as written, though the binary value is 2.67499…
    assert half_up(12.34, 1) == 12.3 and half_up(-0.04, 1) == -0.0
    assert half_up(None) is None and half_up(7, 1) == 7.0


def test_reported_problems_name_the_chosen_follow_up_options():
    """A loan customer who reports a tied sale with top scores: the answer the thank-you page
    promised a call about is found whatever the scores; a hidden question's answer is absent
    from cleaned answers, and an option not marked reports nothing."""
    from surveys import reported_problems
    from surveys.templates import load_template

    defn = load_template("loan-followup")
    happy = {"overall": 5, "nps": 10, "disclosure": "clear", "extra_fees": "no"}
    assert reported_problems(defn, happy) == ()
    assert not is_detractor(score_response(defn, happy))
    tied = {**happy, "extra_fees": "yes", "disclosure": "none"}
    assert reported_problems(defn, tied) == (
        "「办理时，工作人员是否向您清楚说明了贷款年化利率、还款方式和相关费用」答“没有说明”",
        "「除合同约定的利息和费用外，是否有人向您收取其他费用，或要求您购买其他产品」答“有”",
    )
    assert reported_problems(defn, {**happy, "extra_fees": "unsure"}) == ()


def test_reported_problems_in_a_multiple_choice_answer():
    from surveys import load_definition, reported_problems

    defn = load_definition(
        {
            "code": "t",
            "title": "测试",
            "questions": [
                {
                    "id": "issues",
                    "type": "multiple",
                    "title": "遇到了哪些问题？",
                    "options": [
                        {"value": "wait", "label": "排队久"},
                        {"value": "sold", "label": "被推销保险", "follow_up": True},
                        {"value": "none", "label": "没有", "exclusive": True},
                    ],
                }
            ],
        }
    )
    assert reported_problems(defn, {"issues": ["wait", "sold"]}) == (
        "「遇到了哪些问题」答“被推销保险”",
    )
    assert reported_problems(defn, {"issues": ["wait"]}) == ()
    assert defn.questions[0].options[1].to_dict()["follow_up"] is True


def test_a_declined_call_is_found_and_cannot_share_an_option_with_a_follow_up():
    from surveys import DefinitionError, declines_call, load_definition
    from surveys.templates import load_template

    defn = load_template("complaint-resolution")
    assert declines_call(defn, {"resolved": "no", "callback": "no"})
    assert not declines_call(defn, {"resolved": "no", "callback": "yes"})
    assert not declines_call(defn, {})
    both = {
        "code": "t",
        "title": "测试",
        "questions": [
            {
                "id": "q",
                "type": "single",
                "title": "问题解决了吗？",
                "options": [
                    {"value": "yes", "label": "是"},
                    {"value": "no", "label": "否", "follow_up": True, "no_call": True},
                ],
            }
        ],
    }
    with pytest.raises(DefinitionError) as err:
        load_definition(both)
    assert err.value.path == "questions[0].options[1].no_call"


def test_problem_details_are_the_texts_shown_by_a_reported_problem():
    from surveys import problem_details
    from surveys.templates import load_template

    defn = load_template("loan-followup")
    tied = {
        "overall": 5,
        "extra_fees": "yes",
        "extra_fees_detail": " 要求购买理财 ",
        "comment": "好",
    }
    assert problem_details(defn, tied) == ("要求购买理财",)  # (the general comment is not one)
    # a detail left over without the problem chosen is not quoted
    assert problem_details(defn, {**tied, "extra_fees": "unsure"}) == ()
    assert problem_details(defn, {**tied, "extra_fees_detail": "  "}) == ()


def test_index_counts_each_respondent_once():
    # a grid of six top ratings and a single bottom one: two respondents, 100 and 0 -> 50
    # (pooling the seven answers gave 85.7, the grid outweighing the other six to one)
    report = aggregate([ResponseScores(ratings=(5,) * 6), ResponseScores(ratings=(1,))])
    assert report.index.value == 50.0
    assert report.index.n == 2


def test_index_sums_are_exact_however_they_are_grouped():
    answers = [(5, 4, 4), (3,), (2, 5), (4, 4, 4, 5, 3, 1, 2), (1, 2, 3, 4, 5, 5, 5, 5, 5, 4, 3)]
    scores = [ResponseScores(ratings=r) for r in answers]
    one_by_one = MetricSums()
    for s in scores:
        one_by_one = one_by_one.add(s)
    halves = aggregate(scores[:2]), aggregate(scores[2:])
    merged = MetricSums().add(scores[0]).add(scores[1]) + (
        MetricSums().add(scores[2]).add(scores[3]).add(scores[4])
    )
    expected = sum(25 * sum(v - 1 for v in r) / len(r) for r in answers) / len(answers)
    assert one_by_one == merged
    assert one_by_one.index == pytest.approx(expected, abs=1e-12)
    assert halves[0].index.n + halves[1].index.n == 5


def test_exact_halves_round_up_despite_float_arithmetic():
    # 20 responses rated 3.55 on average: 25 * 51 / 20 is 63.74999999999999 in floating point
    scores = [ResponseScores(ratings=(4,))] * 11 + [ResponseScores(ratings=(3,))] * 9
    report = aggregate(scores)
    assert report.index.value == 63.75
    assert half_up(report.index.value) == 63.8
    assert half_up(25 * (51 / 20)) == 63.8
    assert half_up(100 * 0.175) == 17.5 and half_up(1.005, 2) == 1.01
    assert half_up(-56.25) == -56.3 and half_up(63.7499) == 63.7
    # NPS of 7 promoters and 4 detractors among 40: 7.5 exactly
    nps = aggregate(
        [ResponseScores(nps=10)] * 7 + [ResponseScores(nps=0)] * 4 + [ResponseScores(nps=8)] * 29
    )
    assert nps.nps.value == 7.5
