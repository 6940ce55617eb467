"""The decisions of a complaint as its history keeps them (Art. 19, 28).

The case row holds the latest decision only: a review's (核查) replaces the first one there.
Every 作出处理决定 / 作出核查决定 entry of the history keeps its decision in full under
``detail["decision"]``: ``round`` (``first`` or ``review``), ``verified`` (what was verified),
``basis`` (the basis and reasons), ``text`` (the decision) and ``remedies`` (those told), so the
original decision stays on record after a review. Entries written before they kept it hold the
decision text only (the entry's text); a review decided on such a case keeps the decision it
replaced in its own entry (``detail["replaces"]``, the same keys and ``decided_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models.complaint import Complaint, ComplaintEvent, Status

FIRST, REVIEW = "first", "review"
ROUND_LABELS = {FIRST: "原处理决定", REVIEW: "核查决定"}
_DECIDED = (Status.DECIDED, Status.REVIEW_DECIDED)


@dataclass(frozen=True)
class RecordedDecision:
    """One decision as the history holds it; ``verified``/``basis`` are None (and
    ``remedies`` empty) for a decision recorded before the history kept them."""

    round: str
    at: datetime | None
    actor_name: str | None
    verified: str | None
    basis: str | None
    text: str | None
    remedies: tuple[str, ...]

    @property
    def label(self) -> str:
        return ROUND_LABELS[self.round]

    @property
    def complete(self) -> bool:
        return self.verified is not None


def detail(round_: str, verified: str, basis: str, text: str, remedies: Sequence[str]) -> dict:
    """What a decision's history entry keeps of it (``detail["decision"]``)."""
    return {
        "round": round_,
        "verified": verified,
        "basis": basis,
        "text": text,
        "remedies": list(remedies),
    }


def snapshot(complaint: Complaint) -> dict[str, Any]:
    """The decision the case row holds now (before a review's replaces it)."""
    return {
        "verified": complaint.decision_verified,
        "basis": complaint.decision_basis,
        "text": complaint.decision_text,
        "remedies": list(complaint.remedies or []),
        "decided_at": complaint.decided_at.isoformat() if complaint.decided_at else None,
    }


def _decision_entries(history: Iterable[ComplaintEvent]) -> list[ComplaintEvent]:
    return [e for e in history if e.kind == "status" and e.to_status in _DECIDED]


def recorded(history: Iterable[ComplaintEvent]) -> list[RecordedDecision]:
    """Every decision of the case, oldest first: the first decision, then each review's."""
    found: list[RecordedDecision] = []
    for entry in _decision_entries(history):
        d = (entry.detail or {}).get("decision") or {}
        round_ = REVIEW if entry.to_status == Status.REVIEW_DECIDED else FIRST
        kept = (entry.detail or {}).get("replaces")
        if kept and round_ == REVIEW and found and not found[0].complete:
            # (an entry from before the history kept decisions: the review kept what it replaced)
            first = found[0]
            found[0] = RecordedDecision(
                FIRST,
                first.at,
                first.actor_name,
                kept.get("verified"),
                kept.get("basis"),
                kept.get("text") or first.text,
                tuple(kept.get("remedies") or ()),
            )
        found.append(
            RecordedDecision(
                round_,
                entry.at,
                entry.actor_name,
                d.get("verified"),
                d.get("basis"),
                d.get("text", entry.text),
                tuple(d.get("remedies") or ()),
            )
        )
    return found


def original_if_reviewed(history: Iterable[ComplaintEvent]) -> RecordedDecision | None:
    """The first decision, once a review has decided (the case row then holds the review's);
    None for a case no review has decided."""
    found = recorded(history)
    if not any(d.round == REVIEW for d in found) or found[0].round != FIRST:
        return None
    return found[0]


def entries(complaint: Complaint) -> list[ComplaintEvent]:
    """The case's decision entries, oldest first (what ``recorded`` needs of its history)."""
    stmt = (
        select(ComplaintEvent)
        .where(
            ComplaintEvent.complaint_id == complaint.id,
            ComplaintEvent.kind == "status",
            ComplaintEvent.to_status.in_([s.value for s in _DECIDED]),
        )
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    )
    return list(db.session.scalars(stmt))


def first_is_kept(history: Iterable[ComplaintEvent]) -> bool:
    """Whether a review deciding now need not keep, in its own entry, the decision it
    replaces: the first decision's entry holds it in full, or an earlier review has decided
    (that one kept it, or it was lost before entries kept decisions)."""
    found = _decision_entries(history)
    if any(e.to_status == Status.REVIEW_DECIDED for e in found):
        return True
    return bool(found) and bool((found[0].detail or {}).get("decision"))
