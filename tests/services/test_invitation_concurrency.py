"""An integrator's retries of one invitation request arriving at once (PostgreSQL): with its
external_ref they make one invitation and send one message; every retry gets that link."""

from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.postgres

RETRIES = 10


def test_simultaneous_retries_with_one_external_ref_make_one_invitation(seeded_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Invitation, OutboundMessage
    from app.services import tokens

    app = support.racing_app(seeded_postgres, RETRIES)
    with app.app_context():
        secret = tokens.create_token("race", "invitations:write").secret
        db.session.remove()
    body = {
        "survey_code": "branch-service",
        # a customer not known before: its creation races too
        "customer": {"external_id": "RACE-INV-1", "name": "并发邀请客户", "phone": "13800138011"},
        "channel": "sms",
        "branch_code": "HZ01",
        "external_ref": "CRM-RACE-0001",
    }

    def post(_: int) -> tuple[int, dict]:
        reply = app.test_client().post(
            "/api/v1/invitations", json=body, headers={"Authorization": f"Bearer {secret}"}
        )
        return reply.status_code, reply.get_json()

    outcomes = support.at_once(app, post, RETRIES)
    statuses = sorted(status for status, _ in outcomes)
    assert statuses == [200] * (RETRIES - 1) + [201], outcomes
    assert len({(reply["id"], reply["url"]) for _, reply in outcomes}) == 1
    with app.app_context():
        made = db.session.scalars(
            select(Invitation.id).where(Invitation.external_ref == "CRM-RACE-0001")
        ).all()
        assert len(made) == 1
        sent = db.session.scalar(
            select(func.count(OutboundMessage.id)).where(OutboundMessage.invitation_id == made[0])
        )
        assert sent == 1
        db.session.remove()
        db.engine.dispose()  # (the racing pool's connections, closed before the next test)
