"""The decision letter (处理决定告知书): the written notice of a decision, printed and posted or
handed over (Art. 19, 21), for the customers a letter reaches best.

It names the complainant in full (a letter is addressed to a person), so printing one is an
audited view of personal data, as 查看完整信息 is; whom the case names (回避) may not print it.
The complaint itself and the decision's texts are printed with their personal data masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import nlp
from app.models import User, utcnow
from app.services import audit
from app.services import complaint_clock as clock
from app.services import complaint_decisions as decisions
from app.services.complaint_handling import REMEDIES
from app.services.complaints import forbid_named, get_complaint
from app.services.errors import Conflict
from app.services.tx import transactional

LETTER_REASON = "打印处理决定告知书（书面告知客户）"
RESTATED_CHARS = 200  # of the complaint, masked, in the letter's opening


@dataclass(frozen=True)
class DecisionLetter:
    title: str  # 投诉处理决定告知书, or 核查决定告知书 for a review's decision
    reference: str
    name: str
    received_on: date
    channel: str
    complaint: str  # masked, cut at RESTATED_CHARS
    verified: str
    basis: str
    decision: str
    remedies: tuple[str, ...]
    decided_on: date
    printed_on: date
    review: bool
    forwarded: bool  # forwarded by the regulator: not "through a channel" of the bank's


@transactional
def decision_letter(complaint_id: int, *, actor: User) -> DecisionLetter:
    """The letter of the case's current decision; Conflict before one is made."""
    complaint = get_complaint(complaint_id)
    forbid_named(complaint, actor)
    if complaint.decided_at is None or not complaint.decision_text:
        raise Conflict("尚未作出处理决定，没有可打印的处理决定告知书")
    made = decisions.recorded(decisions.entries(complaint))
    review = bool(made) and made[-1].round == decisions.REVIEW  # (the row holds the latest)
    audit.record_unmasked_view(
        "complaint",
        complaint.id,
        actor=actor,
        reason=LETTER_REASON,
        detail={"reference": complaint.reference, "letter": "decision"},
    )
    text = nlp.redact(complaint.content or "").text
    cut = text[:RESTATED_CHARS] + ("……" if len(text) > RESTATED_CHARS else "")
    return DecisionLetter(
        title="核查决定告知书" if review else "投诉处理决定告知书",
        reference=complaint.reference,
        name=complaint.complainant_name,
        received_on=clock.local_date(complaint.received_at),
        channel=complaint.channel_label,
        complaint=cut,
        verified=_masked(complaint.decision_verified),
        basis=_masked(complaint.decision_basis),
        decision=_masked(complaint.decision_text),
        remedies=tuple(REMEDIES[r] for r in complaint.remedies or [] if r in REMEDIES),
        decided_on=clock.local_date(complaint.decided_at),
        printed_on=clock.local_date(utcnow()),
        review=review,
        forwarded=complaint.channel == "regulator",
    )


def _masked(text: str | None) -> str:
    """A decision's text as the letter prints it: numbers typed into it (a phone, a card) are
    masked, as the API shows them; the letter may pass through other hands on its way."""
    return nlp.redact(text or "").text
