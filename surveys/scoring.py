"""Scores per response (CSAT, NPS, CES, 100-point index) and incremental aggregates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from surveys.model import (
    ConditionGroup,
    Metric,
    Option,
    Question,
    QuestionType,
    SurveyDefinition,
)

DEFAULT_MIN_SAMPLE = 30
_NINE_DECIMALS = Decimal("1e-9")
# 非常满意…非常不满意 (5..1) map to 100/75/50/25/0: each step above 1 is worth 25 points.
INDEX_POINTS_PER_STEP = 25
# A response's mean step above 1 is summed in units of 1/720720 (the least common multiple of
# 1..16), so the mean of a response with up to 16 rating answers is a whole number of units and
# sums of many responses stay exact integers a rollup can store.
INDEX_UNITS_PER_STEP = 720_720


@dataclass(frozen=True, slots=True)
class ResponseScores:
    """Headline scores of one response; `ratings` are all its 1-5 answers (for the index)."""

    csat: int | None = None
    nps: int | None = None
    ces: int | None = None
    index: float | None = None
    ratings: tuple[int, ...] = ()


def score_response(defn: SurveyDefinition, cleaned: Mapping[str, Any]) -> ResponseScores:
    """Scores from cleaned answers: key-question values, and the index over every rating answer
    (rating questions and rating-scale matrix items)."""
    ratings: list[int] = []
    for question in defn.questions:
        value = cleaned.get(question.id)
        if question.type is QuestionType.RATING:
            ratings.extend(v for v in [value] if _is_rating(v))
        elif question.scale_type is QuestionType.RATING and isinstance(value, Mapping):
            ratings.extend(v for v in value.values() if _is_rating(v))
    return ResponseScores(
        csat=_key_value(defn, cleaned, Metric.CSAT),
        nps=_key_value(defn, cleaned, Metric.NPS),
        ces=_key_value(defn, cleaned, Metric.CES),
        index=rating_index(ratings),
        ratings=tuple(ratings),
    )


def _is_rating(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5


def _key_value(defn: SurveyDefinition, cleaned: Mapping[str, Any], metric: Metric) -> int | None:
    question = defn.key_question(metric)
    value = cleaned.get(question.id) if question is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rating_index(ratings: Iterable[int]) -> float | None:
    """Mean of 1-5 ratings on the 100-point scale (5 -> 100 ... 1 -> 0); None when empty."""
    values = list(ratings)
    if not values:
        return None
    return INDEX_POINTS_PER_STEP * sum(v - 1 for v in values) / len(values)


def is_detractor(scores: ResponseScores) -> bool:
    """An unhappy customer worth a call-back: NPS 0-6 or CSAT 1-2."""
    return (scores.nps is not None and scores.nps <= 6) or (
        scores.csat is not None and scores.csat <= 2
    )


def _chosen_options(
    defn: SurveyDefinition, cleaned: Mapping[str, Any]
) -> Iterator[tuple[Question, Option]]:
    """Each option chosen in a choice question, with its question, in question order."""
    for question in defn.questions:
        if not question.options:
            continue
        value = cleaned.get(question.id)
        chosen = set(value) if isinstance(value, list | tuple) else {value}
        yield from ((question, opt) for opt in question.options if opt.value in chosen)


def reported_problems(defn: SurveyDefinition, cleaned: Mapping[str, Any]) -> tuple[str, ...]:
    """The chosen options marked ``follow_up`` (a tied sale reported, a problem unresolved),
    each as "question: option", in question order: the customer told the bank of something it
    must call about, whatever the scores. ``cleaned`` holds only answers of questions shown.
    Each reads 「question」答“option”: the question is put to the customer ("您的问题是否已经
    得到解决"), and written out plain in a note to the agent it read as addressed to them."""
    return tuple(
        f"「{question.title.rstrip('？?。')}」答“{opt.label}”"
        for question, opt in _chosen_options(defn, cleaned)
        if opt.follow_up
    )


def problem_details(defn: SurveyDefinition, cleaned: Mapping[str, Any]) -> tuple[str, ...]:
    """What the customer wrote about a reported problem: the answers of the text questions
    whose display rule refers to a question where a ``follow_up`` option was chosen ("请简要说明
    收费或搭售的情况"), in question order, as typed (the caller redacts them)."""
    flagged = {q.id for q, opt in _chosen_options(defn, cleaned) if opt.follow_up}
    found = []
    for question in defn.questions:
        rule, text = question.show_if, cleaned.get(question.id)
        if question.type is not QuestionType.TEXT or rule is None or not isinstance(text, str):
            continue
        refs = rule.references() if isinstance(rule, ConditionGroup) else (rule,)
        if text.strip() and any(c.question in flagged for c in refs):
            found.append(text.strip())
    return tuple(found)


def declines_call(defn: SurveyDefinition, cleaned: Mapping[str, Any]) -> bool:
    """Whether a chosen option is marked ``no_call`` (the customer does not want to be called
    again): then no follow-up task is made, whatever the scores or problems reported."""
    return any(opt.no_call for _, opt in _chosen_options(defn, cleaned))


@dataclass(frozen=True, slots=True)
class Figure:
    """One aggregate figure with its sample size; `value` is None when n is 0."""

    value: float | None
    n: int
    too_small: bool


@dataclass(frozen=True, slots=True)
class MetricReport:
    responses: int
    csat: Figure  # share of 4-5 answers, 0..1
    csat_mean: Figure  # mean on 1..5
    nps: Figure  # % promoters - % detractors, -100..100
    promoters: int
    passives: int
    detractors: int
    ces: Figure  # mean on 1..7
    index: Figure  # 0..100, the mean of the responses' own indexes; n: responses with a rating


@dataclass(frozen=True, slots=True)
class MetricSums:
    """Integer sums and counts that rollup tables can store; adding and merging are exact,
    so aggregating in any grouping or order gives the same figures."""

    responses: int = 0
    csat_n: int = 0
    csat_sum: int = 0
    csat_top2: int = 0
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0
    ces_n: int = 0
    ces_sum: int = 0
    index_n: int = 0
    index_units: int = 0  # the responses' mean steps above 1, in INDEX_UNITS_PER_STEP

    @classmethod
    def of(cls, scores: ResponseScores) -> MetricSums:
        """The sums of a single response."""
        csat, nps, ces = scores.csat, scores.nps, scores.ces
        return cls(
            responses=1,
            csat_n=int(csat is not None),
            csat_sum=csat or 0,
            csat_top2=int(csat is not None and csat >= 4),
            nps_n=int(nps is not None),
            promoters=int(nps is not None and nps >= 9),
            detractors=int(nps is not None and nps <= 6),
            ces_n=int(ces is not None),
            ces_sum=ces or 0,
            index_n=int(bool(scores.ratings)),
            index_units=_index_units(scores.ratings),
        )

    def add(self, scores: ResponseScores) -> MetricSums:
        return self.merge(MetricSums.of(scores))

    def merge(self, other: MetricSums) -> MetricSums:
        return MetricSums(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    __add__ = merge

    @property
    def passives(self) -> int:
        return self.nps_n - self.promoters - self.detractors

    @property
    def csat_share(self) -> float | None:
        return _ratio(self.csat_top2, self.csat_n)

    @property
    def csat_mean(self) -> float | None:
        return _ratio(self.csat_sum, self.csat_n)

    @property
    def nps(self) -> float | None:
        if not self.nps_n:
            return None
        return float(Fraction(100 * (self.promoters - self.detractors), self.nps_n))

    @property
    def ces_mean(self) -> float | None:
        return _ratio(self.ces_sum, self.ces_n)

    @property
    def index(self) -> float | None:
        """The mean of the responses' own 100-point indexes: each respondent counts once,
        whether their questionnaire asked one rating or a grid of six (pooling the answers
        let the longest questionnaire outweigh the others, and the figure differed from the
        mean of the per-response indexes its drill-down lists)."""
        if not self.index_n:
            return None
        return float(
            Fraction(INDEX_POINTS_PER_STEP * self.index_units, INDEX_UNITS_PER_STEP * self.index_n)
        )

    def report(self, min_sample: int = DEFAULT_MIN_SAMPLE) -> MetricReport:
        """Derived figures; each is marked `too_small` when its n is below `min_sample`."""

        def figure(value: float | None, n: int) -> Figure:
            return Figure(value=value, n=n, too_small=n < min_sample)

        return MetricReport(
            responses=self.responses,
            csat=figure(self.csat_share, self.csat_n),
            csat_mean=figure(self.csat_mean, self.csat_n),
            nps=figure(self.nps, self.nps_n),
            promoters=self.promoters,
            passives=self.passives,
            detractors=self.detractors,
            ces=figure(self.ces_mean, self.ces_n),
            index=figure(self.index, self.index_n),
        )

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, int]) -> MetricSums:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})


def aggregate(
    scores: Iterable[ResponseScores], min_sample: int = DEFAULT_MIN_SAMPLE
) -> MetricReport:
    """Aggregate figures over many responses at once."""
    total = MetricSums()
    for item in scores:
        total = total.add(item)
    return total.report(min_sample)


def half_up(value: float | None, digits: int = 1) -> float | None:
    """``value`` rounded as people round a figure they read (四舍五入): a half goes away from
    zero, on the digits the value shows (NPS -56.25 is -56.3, 2.675 is 2.68). Python's
    ``round`` rounds a half to the even digit and works on the binary value (-56.2, 2.67).
    The value is first read to nine decimals, so the last-bit error of the arithmetic that
    made it does not move a half: 25 × 51 / 20 gives 63.74999999999999, which is 63.8."""
    if value is None:
        return None
    read = Decimal(repr(float(value))).quantize(_NINE_DECIMALS, ROUND_HALF_EVEN)
    return float(read.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _index_units(ratings: tuple[int, ...]) -> int:
    """A response's mean step above 1 in INDEX_UNITS_PER_STEP, rounded half up (exact for up to
    16 ratings)."""
    if not ratings:
        return 0
    steps, answers = sum(r - 1 for r in ratings), len(ratings)
    return (2 * INDEX_UNITS_PER_STEP * steps + answers) // (2 * answers)
