"""Property tests: validation never raises and is idempotent; aggregates merge exactly."""

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from surveys import (
    DefinitionError,
    MetricSums,
    Question,
    QuestionType,
    ResponseScores,
    SurveyDefinition,
    aggregate,
    load_definition,
    validate,
)
from surveys.answers import MSG_REQUIRED
from surveys.contact import Channel, CustomerContactState, check_contact
from surveys.templates import list_templates
from tests.unit.surveys.survey_samples import sample_data

# No example database: it would write a .hypothesis folder into the shared working tree.
quick = settings(database=None, deadline=None, max_examples=150)

DEFINITIONS: list[SurveyDefinition] = [load_definition(sample_data()), *list_templates()]

json_scalars = st.none() | st.booleans() | st.integers(-5, 15) | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def answer_for(question: Question) -> st.SearchStrategy[Any]:
    """Mostly well-formed answers for one question, with some junk mixed in."""
    if question.type is QuestionType.MATRIX:
        cells = st.integers(-1, 11) | st.sampled_from(["", "3", "x"])
        keys = st.sampled_from([item.id for item in question.items] + ["zzz"])
        return st.dictionaries(keys, cells, max_size=len(question.items) + 1)
    if question.scale_type is not None:
        return st.integers(-1, 11) | st.integers(-1, 11).map(str) | st.just("")
    if question.options:
        values = st.sampled_from([opt.value for opt in question.options] + ["nope"])
        if question.type is QuestionType.SINGLE:
            return values
        return st.lists(values, max_size=len(question.options) + 1)
    return st.text(max_size=question.max_length + 5)


@st.composite
def survey_and_answers(draw: st.DrawFn) -> tuple[SurveyDefinition, dict[str, Any]]:
    defn = draw(st.sampled_from(DEFINITIONS))
    answers: dict[str, Any] = {}
    for question in defn.questions:
        if draw(st.integers(0, 9)) == 0:
            continue
        answers[question.id] = draw(answer_for(question) | json_values)
        if question.options:
            answers[question.id + "__other"] = draw(st.text(max_size=10) | json_values)
    answers.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=3)))
    return defn, answers


@quick
@given(survey_and_answers())
def test_validate_never_raises_and_cleaned_answers_revalidate(case):
    defn, answers = case
    first = validate(defn, answers)
    again = validate(defn, first.cleaned)
    assert again.cleaned == first.cleaned
    assert again.visible == first.visible
    # Only answers that were refused can now be missing from required questions.
    assert set(again.errors) <= set(first.errors)
    assert set(again.errors.values()) <= {MSG_REQUIRED}
    if first.ok:
        assert again.ok


@quick
@given(st.sampled_from(DEFINITIONS), st.dictionaries(st.text(max_size=8), json_values))
def test_validate_never_raises_on_arbitrary_dicts(defn, answers):
    result = validate(defn, answers)
    assert set(result.errors) <= set(result.visible)
    assert set(result.cleaned) <= {q.id for q in defn.questions} | {
        q.id + "__other" for q in defn.questions
    }


@quick
@given(json_values)
def test_load_definition_raises_only_definition_error(data):
    try:
        load_definition(data)
    except DefinitionError as err:
        assert err.message


scores = st.builds(
    ResponseScores,
    csat=st.none() | st.integers(1, 5),
    nps=st.none() | st.integers(0, 10),
    ces=st.none() | st.integers(1, 7),
    ratings=st.lists(st.integers(1, 5), max_size=4).map(tuple),
)
sums = st.lists(scores, max_size=8).map(lambda items: sum(map(MetricSums.of, items), MetricSums()))


@quick
@given(sums, sums, sums)
def test_metric_sums_merge_is_associative_and_commutative(a, b, c):
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert a + MetricSums() == a


@quick
@given(st.lists(scores, max_size=20), st.integers(0, 20))
def test_split_aggregation_equals_aggregation_at_once(items, cut):
    left, right = MetricSums(), MetricSums()
    for item in items[:cut]:
        left = left.add(item)
    for item in items[cut:]:
        right = right.add(item)
    report = (left + right).report()
    assert report == aggregate(items)
    assert report.promoters + report.passives + report.detractors == report.nps.n
    if report.nps.value is not None:
        assert -100 <= report.nps.value <= 100
    if report.index.value is not None:
        assert 0 <= report.index.value <= 100


aware_times = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@quick
@given(
    aware_times,
    st.lists(st.integers(0, 60 * 24 * 60), max_size=3),
    st.sampled_from(list(Channel)),
)
def test_not_before_is_an_allowed_time(now, minutes_ago, channel):
    state = CustomerContactState(last_surveyed_at=[now - timedelta(minutes=m) for m in minutes_ago])
    decision = check_contact(state, "branch-service", channel, now)
    if decision.not_before is not None:
        assert decision.not_before > now
        assert check_contact(state, "branch-service", channel, decision.not_before).allowed
