"""Two agents saving one follow-up's phone answers at once store one response (PostgreSQL).

A double click on 保存回访答卷, or two agents on the same task, must not leave two answer sheets
for one call; this needs real commits from two connections, so it runs on a database of its own.
"""

from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.postgres

AGENTS = 8


def test_concurrent_phone_answers_for_one_followup_store_one_response(seeded_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import CallAttempt, Customer, Response, User
    from app.services import followups
    from app.services.errors import InvalidTransition
    from app.services.surveys import definition_of

    app = support.racing_app(seeded_postgres, AGENTS)
    with app.app_context():
        agent = db.session.scalar(select(User).where(User.username == "agent"))
        customer = db.session.scalar(select(Customer).limit(1))
        task = followups.assign_manually(
            external_id=customer.external_id, survey_code="branch-service", note="并发", actor=agent
        )
        version = task.version
        task_id, agent_id, customer_id = task.id, agent.id, customer.id
        form = {}
        for q in definition_of(version).questions:
            if q.show_if is not None or not q.required:
                continue
            if q.items:
                for item in q.items:
                    form[f"q_{q.id}__{item.id}"] = "4"
            elif q.options:
                form[f"q_{q.id}"] = next(o.value for o in q.options if not o.other)
            elif q.scale_type is not None:
                form[f"q_{q.id}"] = "9" if q.type.value == "nps" else "4"
        db.session.remove()

    def save(_: int) -> str:
        try:
            followups.submit_phone_answers(task_id, form, agent=db.session.get(User, agent_id))
        except InvalidTransition:
            return "closed"
        return "stored"

    outcomes = support.at_once(app, save, AGENTS)

    assert outcomes.count("stored") == 1, outcomes
    assert set(outcomes) == {"stored", "closed"}, outcomes
    with app.app_context():
        responses = db.session.scalar(
            select(func.count(Response.id)).where(
                Response.channel == "phone", Response.customer_id == customer_id
            )
        )
        calls = db.session.scalar(
            select(func.count(CallAttempt.id)).where(CallAttempt.followup_id == task_id)
        )
        db.session.remove()
        db.engine.dispose()
    assert (responses, calls) == (1, 1)
