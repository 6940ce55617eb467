"""Staff names for discovered topics, and topics hidden from the dashboards.

A discovered topic is labelled by its top three terms (利率、提前还款、违约金), which reads well
for many topics and badly for some; a topic may also be noise to a manager (the survey's own
wording, greetings). Head-office managers name a topic (提前还款违约金) or hide it; the voice
dashboard then shows the name and leaves the hidden topic out of its charts and tables (its
texts keep their sentiment and keywords, and are still counted everywhere else).

Topics are discovered again from time to time, with new ids. A label moves to the new topic
whose top terms overlap the terms the topic had when it was labelled most (Jaccard ≥
``CARRY_OVER``), so a name survives a rediscovery that finds the same topic again, and is
dropped, not pinned on an unrelated topic, when that topic is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import TopicLabel, TopicModelRecord, User
from app.models.base import utcnow
from app.services import audit
from app.services.errors import ValidationFailed
from app.services.tx import transactional

NAME_MAX = 20
TERMS = 10  # the top terms compared when a label moves to a new model
CARRY_OVER = 0.4


@dataclass(frozen=True)
class TopicRow:
    """A topic of the current model as the naming page lists it."""

    id: int
    terms: tuple[str, ...]
    size: int
    quotes: tuple[str, ...]
    name: str | None
    hidden: bool


def latest_model() -> TopicModelRecord | None:
    return db.session.scalar(select(TopicModelRecord).order_by(TopicModelRecord.id.desc()))


def labels(record: TopicModelRecord) -> dict[int, TopicLabel]:
    rows = db.session.scalars(select(TopicLabel).where(TopicLabel.model_id == record.id))
    return {row.topic_id: row for row in rows}


def topics(record: TopicModelRecord) -> list[TopicRow]:
    """The model's topics, largest first, with their names and whether they are hidden."""
    given = labels(record)
    out = []
    for t in record.model.get("topics", []):
        label = given.get(int(t["id"]))
        out.append(
            TopicRow(
                int(t["id"]),
                tuple(t.get("terms", [])),
                int(t.get("size", 0)),
                tuple(t.get("quotes", [])),
                label.name if label else None,
                bool(label and label.hidden),
            )
        )
    return sorted(out, key=lambda row: (-row.size, row.id))


@transactional
def save(record: TopicModelRecord, changes: dict[int, tuple[str, bool]], actor: User) -> int:
    """Set each topic's name ("" for none: the top terms again) and hidden flag; returns how
    many topics changed. Two visible topics may not share a name (the charts would show two
    bars of one name). Every change is in the audit log."""
    known = {int(t["id"]): t for t in record.model.get("topics", [])}
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise ValidationFailed(f"话题 {unknown[0]} 不在当前话题模型中，请刷新页面后重试")
    current = labels(record)
    cleaned: dict[int, tuple[str | None, bool]] = {}
    faults = []
    for topic_id, (name, hidden) in changes.items():
        name = " ".join((name or "").split())
        if len(name) > NAME_MAX:
            faults.append(f"话题 {topic_id} 的名称不能超过 {NAME_MAX} 个字")
        cleaned[topic_id] = (name or None, hidden)
    final = {tid: (row.name, row.hidden) for tid, row in current.items()} | cleaned
    seen: dict[str, int] = {}
    for tid, (name, hidden) in sorted(final.items()):
        if name and not hidden:
            if name in seen:
                faults.append(f"话题 {seen[name]} 与话题 {tid} 不能同名（{name}）")
            seen.setdefault(name, tid)
    if faults:
        raise ValidationFailed("；".join(faults))
    changed = 0
    for tid, (name, hidden) in cleaned.items():
        row = current.get(tid)
        before = (row.name, row.hidden) if row else (None, False)
        if before == (name, hidden):
            continue
        if row is None:
            row = TopicLabel(model_id=record.id, topic_id=tid)
            db.session.add(row)
        row.name, row.hidden = name, hidden
        row.terms = list(known[tid].get("terms", []))[:TERMS]
        row.updated_by_id, row.updated_at = actor.id, utcnow()
        audit.record(
            "topic.labelled",
            actor=actor,
            object_type="topic",
            object_id=f"{record.id}:{tid}",
            detail={
                "terms": row.terms[:3],
                "name": [before[0], name],
                "hidden": [before[1], hidden],
            },
        )
        changed += 1
    return changed


def carry_over(old: TopicModelRecord, new: TopicModelRecord) -> int:
    """Copy ``old``'s labels to the topics of ``new`` that are the same topic found again (in
    the caller's transaction); returns how many moved. Each label goes to the new topic of
    highest term overlap, best matches first, one label per topic."""
    given = [row for row in labels(old).values() if row.name or row.hidden]
    fresh = {int(t["id"]): list(t.get("terms", []))[:TERMS] for t in new.model.get("topics", [])}
    pairs = []
    for row in given:
        terms = set(row.terms[:TERMS])
        for tid, new_terms in fresh.items():
            union = terms | set(new_terms)
            overlap = len(terms & set(new_terms)) / len(union) if union else 0.0
            if overlap >= CARRY_OVER:
                pairs.append((overlap, row, tid))
    taken_rows, taken_topics, moved = set(), set(), 0
    for _, row, tid in sorted(pairs, key=lambda p: (-p[0], p[1].topic_id, p[2])):
        if row.id in taken_rows or tid in taken_topics:
            continue
        taken_rows.add(row.id)
        taken_topics.add(tid)
        db.session.add(
            TopicLabel(
                model_id=new.id,
                topic_id=tid,
                name=row.name,
                hidden=row.hidden,
                terms=fresh[tid],  # the topic as now found: the next rediscovery compares these
                updated_by_id=row.updated_by_id,
                updated_at=row.updated_at,
            )
        )
        moved += 1
    return moved


def names_and_hidden(record: TopicModelRecord | None) -> tuple[dict[str, str], set[str]]:
    """The staff names of the record's topics by topic key ("3"), and the hidden keys."""
    if record is None:
        return {}, set()
    given = labels(record)
    names = {str(tid): row.name for tid, row in given.items() if row.name}
    hidden = {str(tid) for tid, row in given.items() if row.hidden}
    return names, hidden
