"""What one raw row contributes to the rollups (pure functions over selected columns)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

from app.models import Complaint
from app.models.complaint import first_decision, notice_excused
from app.models.rollup import METRIC_COLUMNS
from app.services import complaint_clock as clock
from app.services.surveys import definition_of
from surveys import MetricSums, QuestionType, score_response

SAT_KEY = ("day", "branch_id", "product_id", "channel", "survey_id")
QUESTION_KEY = (*SAT_KEY, "question", "scale")
COMPLAINT_KEY = (
    "day",
    "branch_id",
    "product_id",
    "channel",
    "code_channel",
    "code_business",
    "code_cause",
)
VOICE_KEY = ("day", "branch_id", "source_type", "kind", "key")
FOLLOWUP_KEY = ("day", "branch_id", "reason", "product_id", "survey_id")
KEYWORDS_PER_TEXT = 5
TOP_BY_SCALE = {"rating": 4, "nps": 9, "ces": 5}  # satisfied / promoter / low effort (agree)
DAY_BUCKETS = ((5, "days_0_5"), (15, "days_6_15"), (30, "days_16_30"), (60, "days_31_60"))
CALLBACK_WINDOW = timedelta(hours=48)

COMPLAINT_COUNTS = (
    "received",
    "major",
    "reviewed",
    "reopened",
    "decided",
    "decided_in_time",
    "decision_days",
    "days_0_5",
    "days_6_15",
    "days_16_30",
    "days_31_60",
    "days_over_60",
    "closed",
)
COMPLAINT_COLUMNS = (
    Complaint.branch_id,
    Complaint.product_id,
    Complaint.channel,
    Complaint.code_channel,
    Complaint.code_business,
    Complaint.code_cause,
    Complaint.received_at,
    Complaint.decided_at,
    Complaint.closed_at,
    Complaint.due_at,
    Complaint.decision_notified_at,
    Complaint.first_decided_at,
    Complaint.first_due_at,
    Complaint.first_decision_notified_at,
    Complaint.customer_unreachable,
    Complaint.status,
    Complaint.is_major,
    Complaint.review_requested_on,
    Complaint.clock_restarted_on,
    Complaint.merged_into_id,
)


_METRIC_VALUES = attrgetter(*METRIC_COLUMNS)


@dataclass
class SatisfactionBatch:
    metrics: dict[tuple, MetricSums] = field(default_factory=dict)
    questions: dict[tuple, tuple[int, int, int]] = field(default_factory=dict)
    values: dict[tuple, int] = field(default_factory=dict)


class SatisfactionAccumulator:
    """Adds responses' MetricSums and scale answers per rollup key, scoring with ``surveys``."""

    def __init__(self, versions: dict[int, Any]) -> None:
        self._versions = versions
        self._definitions: dict[int, Any] = {}
        self._last_day: date | None = None
        self.metrics: dict[tuple, list[int]] = {}  # MetricSums fields, summed in place
        self.questions: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.values: dict[tuple, int] = defaultdict(int)  # AnswerValueRollup keys: answers

    def _definition(self, version_id: int) -> Any:
        if version_id not in self._definitions:
            self._definitions[version_id] = definition_of(self._versions[version_id])
        return self._definitions[version_id]

    def add(self, row: Any, day: date) -> date | None:
        """Add one response; returns ``day`` when it starts a new day (the previous is done)."""
        defn = self._definition(row.version_id)
        answers = row.answers or {}
        key = (day, row.branch_id, row.product_id, row.channel, row.survey_id)
        values = _METRIC_VALUES(MetricSums.of(score_response(defn, answers)))
        target = self.metrics.get(key)
        if target is None:
            self.metrics[key] = list(values)
        else:
            for i, value in enumerate(values):
                target[i] += value
        for question, scale, value in scale_answers(defn, answers):
            counts = self.questions[(*key, question, scale)]
            counts[0] += 1
            counts[1] += value
            counts[2] += int(value >= TOP_BY_SCALE[scale])
        values_key = (day, row.branch_id, row.survey_id)
        for question, kind in value_answers(defn, answers):
            self.values[(*values_key, question, kind)] += 1
        started = day if self._last_day is not None and day != self._last_day else None
        self._last_day = day
        return started

    def pop_before(self, day: date | None) -> SatisfactionBatch:
        """Remove and return the keys of days before ``day`` (all keys when None)."""
        batch = SatisfactionBatch()
        for key in [k for k in self.metrics if day is None or k[0] < day]:
            batch.metrics[key] = MetricSums(
                **dict(zip(METRIC_COLUMNS, self.metrics.pop(key), strict=True))
            )
        for key in [k for k in self.questions if day is None or k[0] < day]:
            batch.questions[key] = tuple(self.questions.pop(key))
        for key in [k for k in self.values if day is None or k[0] < day]:
            batch.values[key] = self.values.pop(key)
        return batch


def scale_answers(defn: Any, answers: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(question, scale, value) for every answered scale question and matrix item."""
    out = []
    for question in defn.questions:
        value = answers.get(question.id)
        if value is None:
            continue
        if question.type in (QuestionType.RATING, QuestionType.NPS, QuestionType.CES):
            if isinstance(value, int) and not isinstance(value, bool):
                out.append((question.id, str(question.type), value))
        elif question.type is QuestionType.MATRIX and isinstance(value, dict):
            scale = str(question.scale_type)
            for item, item_value in value.items():
                if isinstance(item_value, int) and not isinstance(item_value, bool):
                    out.append((f"{question.id}.{item}"[:130], scale, item_value))
    return out


# AnswerValueRollup rows (问卷结果), per day x branch x survey: a choice option chosen
# ("question=option"), a scale point given ("question=7", a matrix item's "question.item=4"), a
# question answered ("question"; a text box only when not blank). Ids and option values are
# [a-z0-9_-] (surveys._read), so "=" parts them unambiguously.
VALUE_KEY = ("day", "branch_id", "survey_id", "question", "kind")


def value_answers(defn: Any, answers: dict[str, Any]) -> list[tuple[str, str]]:
    """(question key, kind) of each answer, for the distributions of 问卷结果."""
    out = []
    for question in defn.questions:
        value = answers.get(question.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            chosen = value if isinstance(value, list) else [value]
            out += [(f"{question.id}={v}"[:130], "choice") for v in chosen]
        elif question.type in (QuestionType.RATING, QuestionType.NPS, QuestionType.CES):
            out.append((f"{question.id}={value}", "point"))
        elif question.type is QuestionType.MATRIX and isinstance(value, dict):
            out += [(f"{question.id}.{item}={v}"[:130], "point") for item, v in value.items()]
        out.append((question.id, "answered"))
    return out


def decision_bucket(days: int) -> str:
    for limit, name in DAY_BUCKETS:
        if days <= limit:
            return name
    return "days_over_60"


def complaint_contributions(
    row: Any, local_day: Callable[[datetime], date]
) -> list[tuple[tuple, dict[str, int]]]:
    """The counts one complaint adds on its received, (first) decision and closing days; none
    for a merged repeat (Art. 18: the same complaint, handled in the case it joined; it was
    counted as a second complaint received and a case closed with no decision)."""
    if row.merged_into_id is not None:
        return []
    rest = (
        row.product_id,
        row.channel,
        row.code_channel or "",
        row.code_business or "",
        row.code_cause or "",
    )
    received = local_day(row.received_at)
    out = [
        (
            (received, row.branch_id, *rest),
            {
                "received": 1,
                "major": int(bool(row.is_major)),
                "reviewed": int(row.review_requested_on is not None),
                "reopened": int(row.clock_restarted_on is not None),
            },
        )
    ]
    first = first_decision(row)  # (a review's decision has a clock of its own)
    if first.decided is not None:
        decided = local_day(first.decided)
        days = max((decided - received).days, 0)
        in_time = clock.decided_in_time(*first, excused=notice_excused(row))
        counts = {
            "decided": 1,
            "decided_in_time": int(in_time),
            "decision_days": days,
            decision_bucket(days): 1,
        }
        out.append(((decided, row.branch_id, *rest), counts))
    if row.closed_at is not None:
        out.append(((local_day(row.closed_at), row.branch_id, *rest), {"closed": 1}))
    return out


def voice_keys(row: Any) -> list[tuple[str, str]]:
    keys = [("sentiment", row.sentiment)] if row.sentiment else []
    seen: set[str] = set()
    for word in (row.keywords or [])[:KEYWORDS_PER_TEXT]:
        word = str(word)[:60]
        if word and word not in seen:
            seen.add(word)
            keys.append(("keyword", word))
    if row.topic_id is not None:
        keys.append(("topic", str(row.topic_id)))
    return keys


# Call outcomes where the customer answered the phone: 接通 for the reach rate and the 48-hour
# call-back, whether they then took the survey, declined it (拒访) or asked to be called at
# another time (预约回拨); counting 接通 alone put those among the unreached (75 % for 85 %).
ANSWERED = frozenset({"reached", "refused", "callback"})


def followup_counts(task: Any, calls: list[tuple[str, datetime]]) -> dict[str, int]:
    """What one follow-up task adds, from its call log (``call_attempt`` rows).

    Tasks settled without a call log (imported or bulk-loaded rows that only set the task's
    status, ``attempts`` and ``closed_at``) are counted from the task itself: its failed-call
    counter, and a done task as reached when it was closed. The call log, when present, wins:
    every call the application records writes a row, and the counter only counts failed calls.
    """
    reached = sorted(at for outcome, at in calls if outcome in ANSWERED)
    attempts = len(calls)
    status = getattr(task, "status", None)
    closed_at = getattr(task, "closed_at", None)
    if not calls:
        attempts = int(getattr(task, "attempts", 0) or 0)
        if status == "done" and closed_at is not None:
            reached = [closed_at]
            attempts = max(attempts, 1)
    detractor = task.reason == "detractor"
    return {
        "tasks": 1,
        "called": int(attempts > 0),
        "attempts": attempts,
        "reached": int(bool(reached)),
        "closed": int(task.status not in ("open", "scheduled")),
        "detractor_tasks": int(detractor),
        "detractor_within_48h": int(
            detractor and bool(reached) and reached[0] - task.created_at <= CALLBACK_WINDOW
        ),
    }
