"""Defects found walking whole complaint journeys through the desk as its users would: a refusal
the page did not show, 回避 that could not be recorded or was not applied to the handler already
holding the case, a review registered on a merged repeat, and a decline that could not be told."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, User
from app.models.complaint import ComplaintEvent
from app.services import complaint_casework, complaint_handling, complaints
from app.services.complaints import IntakeData
from tests import factories
from tests.support import csrf_token, post_case_action

TEXT = "柜台转账多收手续费五十元，柜员态度恶劣，要求退还并道歉。"
DECISION = {
    "verified": "调取了柜台录像和交易流水",
    "basis": "依据本行收费标准，该笔转账免收手续费",
    "decision_text": "退还手续费五十元并致歉",
}

UNCODED = {"code_channel": "", "code_business": "", "code_cause": "", "major_reason": ""}


_post = post_case_action  # (the page's own way of posting an action)


def _panel(page: str, name: str) -> str:
    return page.split(f'id="act-{name}"', 1)[1].split("</details>", 1)[0]


def _agent() -> User:
    return db.session.scalar(select(User).where(User.username == "agent"))


def test_a_decision_without_any_remedy_says_so_on_the_form(client, auth, db_session):
    c = factories.accepted_complaint(2, TEXT)
    auth.login("agent")
    refused = _post(client, c, "decide", **DECISION)  # every remedy box unticked
    assert refused.status_code == 422
    panel = unescape(_panel(refused.get_data(as_text=True), "decide"))
    assert "请至少告知一种救济途径（核查、调解、仲裁、诉讼）" in panel
    db_session.refresh(c)
    assert c.status == "accepted" and c.decision_text is None


def test_a_case_can_name_a_branch_and_nobody_of_it_is_offered_or_assigned(client, auth, db_session):
    c = factories.accepted_complaint(1, TEXT, branch_code="HZ")
    auth.login("hq")
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert 'name="classify-named_branch"' in page
    saved = _post(client, c, "classify", named_branch="HZ", **UNCODED)
    assert saved.status_code == 302
    db_session.refresh(c)
    assert c.named_branch.code == "HZ"
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    agent = _agent()
    assert f'<option value="{agent.id}"' not in _panel(page, "assign")  # 李坐席 works at 杭州分行
    refused = _post(client, c, "assign", assignee=str(agent.id))
    assert refused.status_code == 422 and "回避" in unescape(refused.get_data(as_text=True))
    db_session.refresh(c)
    assert c.assignee_id is None


def test_a_case_names_a_unit_by_code_or_name_with_its_own_branch_offered(client, auth, db_session):
    """The 回避 unit is typed (code or full name) with the units above the case's and those of
    its 分行 suggested (a bank of 2,000 units put all of them on every case page as options); a
    case at head office suggests every unit; any unit of the bank is taken (a customer may
    correct where it happened), an unknown one is refused in Chinese and nothing changes."""
    from app.models import Branch

    def offered(c) -> set[str]:
        page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
        listed = page.split('<datalist id="named-branch-units">', 1)[1].split("</datalist>", 1)[0]
        return set(re.findall(r'<option value="([^"]+)"', listed))

    units = list(db_session.scalars(select(Branch)))
    hangzhou = {b.code for b in units if b.path.startswith("/HO/HZ/")}
    auth.login("hq")
    c = factories.accepted_complaint(1, TEXT, branch_code="HZ01")
    assert offered(c) == hangzhou | {"HO"}
    assert offered(factories.accepted_complaint(1, TEXT, branch_code="HO")) == {
        b.code for b in units
    }
    by_name = _post(client, c, "classify", named_branch="南京分行", **UNCODED)
    assert by_name.status_code == 302
    db_session.refresh(c)
    assert c.named_branch.code == "NJ"  # (another 分行's unit, by its name)
    refused = _post(client, c, "classify", named_branch="火星支行", reason="更正", **UNCODED)
    assert refused.status_code == 422
    said = unescape(_panel(refused.get_data(as_text=True), "classify"))
    assert "未找到机构“火星支行”：请输入机构代码或机构全称" in said
    db_session.refresh(c)
    assert c.named_branch.code == "NJ"


def test_naming_the_handler_who_holds_the_case_takes_it_away_from_them(client, auth, db_session):
    c = factories.accepted_complaint(1, TEXT, branch_code="HZ")
    agent = _agent()
    complaint_casework.assign(c.id, agent.id, actor=agent)
    auth.login("agent")
    saved = _post(client, c, "classify", add_staff=agent.display_name, named_branch="", **UNCODED)
    assert saved.status_code == 302
    db_session.refresh(c)
    assert c.named_staff_ids == [agent.id] and c.assignee_id is None
    last = db_session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "assigned")
        .order_by(ComplaintEvent.id.desc())
    ).first()
    assert "回避" in last.text and last.detail["how"] == "recusal"


def test_naming_the_handlers_branch_also_takes_the_case_away(db_session):
    c = factories.accepted_complaint(1, TEXT, branch_code="HZ")
    agent = _agent()
    hq = db_session.scalar(select(User).where(User.username == "hq"))
    complaint_casework.assign(c.id, agent.id, actor=hq)
    for named, kept in (("HZ01", True), ("HZ", False)):  # another unit, then the handler's
        complaint_casework.classify(
            c.id, actor=hq, code_channel=None, code_business=None, code_cause=None,
            named_branch_code=named, reason="经核实投诉涉及的是杭州分行",  # (HZ01 taken off)
        )  # fmt: skip
        assert (c.assignee_id == agent.id) is kept
    assert c.assignee_id is None


def test_a_merged_repeat_offers_no_review_and_refuses_one(client, auth, db_session):
    first = factories.accepted_complaint(3, TEXT)
    repeat, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline", content=TEXT, name="周静", phone="13612345678", branch_code="HZ01"
        )
    )
    complaint_casework.merge(
        repeat.id, first.id, actor=_agent(), new_facts=False, note="同一事项重复来电"
    )
    auth.login("agent")
    page = client.get(f"/staff/complaints/{repeat.id}").get_data(as_text=True)
    assert 'id="act-review"' not in page
    # each side of the merge links to the other (the history named it as plain text)
    assert f'href="/staff/complaints/{first.id}">查看合并后的投诉 {first.reference}' in page
    into = client.get(f"/staff/complaints/{first.id}").get_data(as_text=True)
    assert f'href="/staff/complaints/{repeat.id}">查看被合并的重复投诉 {repeat.reference}' in into
    refused = _post(client, repeat, "review", requested_on=str(repeat.received_at.date()),
                    reason="客户书面申请核查")  # fmt: skip
    assert refused.status_code == 409
    assert "请在其并入的投诉上登记核查申请" in unescape(refused.get_data(as_text=True))
    db_session.refresh(repeat)
    assert repeat.status == "closed" and repeat.review_requested_on is None


def test_a_declined_case_can_record_how_whoever_raised_it_was_told(client, auth, db_session):
    c, _ = complaints.create_complaint(  # at the counter, no phone or e-mail: no SMS goes out
        IntakeData(channel="branch", content=TEXT, name="钱某", branch_code="HZ01")
    )
    auth.login("agent")
    declined = _post(client, c, "decline", ground="not_entitled",
                     reason="来访人系客户同事，未提供授权委托书")  # fmt: skip
    assert declined.status_code == 302
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    panel = _panel(page, "notice")
    assert re.search(r'<option selected value="decline">|<option value="decline" selected', panel)
    told = _post(client, c, "notice", purpose="decline", method="in_person", outcome="",
                 note="当面告知")  # fmt: skip
    assert told.status_code == 302
    notices = db_session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "notice")
        .order_by(ComplaintEvent.id)  # (PostgreSQL returned them in either order)
    ).all()
    # (the automatic notice that could not go out is on record, then how they were told)
    outcomes = [n.detail["outcome"] for n in notices if n.detail["purpose"] == "decline"]
    assert outcomes == ["none", "handed"]


def test_history_says_how_far_a_case_was_extended_and_who_approved(client, auth, db_session):
    c = factories.accepted_complaint(1, TEXT)
    hq = db_session.scalar(select(User).where(User.username == "hq"))
    complaint_handling.extend(c.id, actor=_agent(), level=1, reason="需调取监控录像")
    complaint_handling.extend(c.id, actor=hq, level=2, reason="需总行法律部门意见")
    auth.login("agent")
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert "延长至 30 日：需调取监控录像" in page
    assert "再延长至 60 日（经总行管理人员审批）：需总行法律部门意见" in page
    manager = factories.user(Role.BRANCH_MANAGER, "HZ")
    c2 = factories.accepted_complaint(1, TEXT)
    complaint_handling.extend(c2.id, actor=_agent(), level=1, reason="需调取监控录像")
    complaint_handling.extend(c2.id, actor=manager, level=2, reason="需司法鉴定")
    texts = [e.text for e in complaints.history(c2) if e.kind == "extended"]
    assert texts[-1] == "再延长至 60 日（经上级机构负责人审批）：需司法鉴定"


def test_withdrawal_and_review_decision_are_announced_in_plain_words(client, auth, db_session):
    c = factories.accepted_complaint(1, TEXT)
    auth.login("agent")
    done = _post(client, c, "withdraw", reason="客户来电撤回投诉")
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"{c.reference}：已登记客户撤回" in page and "已客户撤回" not in page
    reviewed = factories.accepted_complaint(2, TEXT)
    agent = factories.user(Role.AGENT, "HZ01")  # decided at the 支行; 杭州分行's agent reviews
    complaint_handling.decide(
        reviewed.id,
        actor=agent,
        decision=complaint_handling.Decision(
            DECISION["verified"],
            DECISION["basis"],
            DECISION["decision_text"],
            ("review",),
            "callback",
        ),
    )
    today = complaint_handling.clock.local_date(reviewed.decided_at)
    complaint_handling.request_review(
        reviewed.id, actor=agent, requested_on=today, reason="客户书面申请核查"
    )
    done = _post(client, reviewed, "decide", remedies=["mediation"], **DECISION)
    assert done.status_code == 302
    page = unescape(client.get(done.headers["Location"]).get_data(as_text=True))
    assert f"{reviewed.reference}：已作出核查决定" in page
    assert "核查期限：" in page and "已延长至" not in page


def test_whom_a_case_names_may_not_handle_it_only_add_their_account(client, auth, db_session):
    """Art. 17 holds for whoever acts, not only for whom the case is assigned to: the agent a
    case names could open it (it is in their branch) and start, decide, tell, extend, route it
    or take their own name off it. Now each is refused with the reason, the page offers none of
    them and says why, and a note (their account of what happened) is still taken."""
    from app.services.errors import Forbidden

    c = factories.accepted_complaint(1, TEXT, branch_code="HZ")
    agent = _agent()
    hq = db_session.scalar(select(User).where(User.username == "hq"))
    complaint_casework.classify(
        c.id, actor=hq, code_channel=None, code_business=None, code_cause=None,
        named_staff_ids=[agent.id],
    )  # fmt: skip
    auth.login("agent")
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert "根据回避规定（第十七条），您不能受理、处理" in page
    for offered in ("start", "decide", "notice", "assign", "classify", "extend", "merge"):
        assert f'id="act-{offered}"' not in page
    assert 'id="act-note"' in page and "cp-reveal" not in page  # nor the complainant's phone
    peek = client.post(
        f"/staff/complaints/{c.id}/reveal",
        data={"reveal-csrf_token": csrf_token(page), "reveal-reason": "电话联系客户"},
    )
    assert peek.status_code == 400 and "13612345678" not in peek.get_data(as_text=True)
    refused = _post(client, c, "start")
    assert refused.status_code == 403
    assert "根据回避规定（第十七条）不能办理本投诉" in unescape(refused.get_data(as_text=True))
    db_session.refresh(c)
    assert c.status == "accepted"
    decision = complaint_handling.Decision(
        verified="核实",
        basis="依据规定",
        text="退还手续费",
        remedies=("mediation",),
        identity_check="callback",
    )
    attempts = {
        "decide": lambda: complaint_handling.decide(c.id, actor=agent, decision=decision),
        "notice": lambda: complaint_handling.record_notice(
            c.id, actor=agent, method="phone", purpose="decision", outcome="reached"
        ),
        "extend": lambda: complaint_handling.extend(c.id, actor=agent, level=1, reason="情况复杂"),
        "unname": lambda: complaint_casework.classify(
            c.id,
            actor=agent,
            code_channel=None,
            code_business=None,
            code_cause=None,
            named_staff_ids=[],
        ),  # fmt: skip
        "assign": lambda: complaint_casework.assign(c.id, hq.id, actor=agent),
        "withdraw": lambda: complaint_handling.withdraw(c.id, actor=agent, reason="客户撤回"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(Forbidden, match="回避"):
            attempt()
        db_session.refresh(c)
        assert c.status == "accepted" and c.named_staff_ids == [agent.id], name
    noted = _post(client, c, "note", kind="note", text="当日我按规定收取了手续费，经过如下……")
    assert noted.status_code == 302
    db_session.expire_all()  # (the note saved a newer version of the case)
    complaint_handling.start(c.id, actor=hq)  # anyone else goes on
    db_session.refresh(c)
    assert c.status == "in_progress"


def test_a_review_is_decided_by_the_superior_unit_not_by_who_made_the_decision(
    client, auth, db_session
):
    """Art. 23: the customer asks the superior institution to review the decision. Whoever
    held the case could decide the review of their own decision; now the 支行's handler (and
    the first decider, wherever they sit) is refused and told who reviews, and 杭州分行's
    agent is offered the review decision."""
    from app.services.errors import Forbidden

    c = factories.accepted_complaint(2, TEXT)  # at 滨江支行 (HZ01), under 杭州分行
    first = factories.user(Role.AGENT, "HZ01")
    colleague = factories.user(Role.AGENT, "HZ01")  # the same 支行: not its superior
    db_session.commit()  # (a refused call below rolls back what is not committed)
    decision = complaint_handling.Decision(
        DECISION["verified"], DECISION["basis"], DECISION["decision_text"], ("review",), "callback"
    )
    complaint_handling.decide(c.id, actor=first, decision=decision)
    today = complaint_handling.clock.local_date(c.decided_at)
    complaint_handling.request_review(c.id, actor=first, requested_on=today, reason="客户申请核查")
    with pytest.raises(Forbidden, match="核查须由上级机构办理"):
        complaint_handling.decide(c.id, actor=first, decision=decision)
    with pytest.raises(Forbidden, match="请由杭州分行或.*的人员作出核查决定"):
        complaint_handling.decide(c.id, actor=colleague, decision=decision)
    db_session.refresh(c)
    assert c.status == "review_requested"
    auth.login(colleague.username, "Kesheng@2026")  # (factories' password)
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert 'id="act-decide"' not in page
    assert "核查决定须由杭州分行或" in page and "作出原处理决定的人员不能核查" in page
    auth.logout()
    auth.login("agent")  # 李坐席, 杭州分行
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert 'id="act-decide"' in page and "作出核查决定" in page
    done = _post(client, c, "decide", remedies=["mediation"], **DECISION)
    assert done.status_code == 302
    db_session.refresh(c)
    assert c.status == "review_decided"


def test_a_withdrawal_ends_the_case_on_the_day_it_was_received(client, auth, db_session):
    """Art. 15: a withdrawal letter that arrived yesterday, entered today, ended the case
    yesterday; it was recorded as today. The form asks for the day (blank: today) and refuses
    a day in the future or before the complaint was received."""
    from datetime import timedelta

    c = factories.accepted_complaint(3, TEXT)
    today = complaint_handling.clock.local_date(c.received_at) + timedelta(days=3)
    auth.login("agent")
    for day, message in (
        (today + timedelta(days=1), "收到撤回的日期不能晚于今天"),
        (today - timedelta(days=4), "收到撤回的日期不能早于投诉接收日期"),
    ):
        refused = _post(client, c, "withdraw", on=day.isoformat(), reason="客户来信撤回投诉")
        assert refused.status_code == 422 and message in unescape(refused.text)
        db_session.refresh(c)
        assert c.status == "accepted"
    yesterday = today - timedelta(days=1)
    done = _post(client, c, "withdraw", on=yesterday.isoformat(), reason="客户来信撤回投诉")
    assert done.status_code == 302
    db_session.refresh(c)
    assert c.status == "withdrawn"
    assert complaint_handling.clock.local_date(c.closed_at) == yesterday
    last = complaints.history(c)[-1]
    assert f"{yesterday:%Y年%m月%d日}收到撤回" in last.text


def test_the_review_round_forms_default_to_the_review(client, auth, db_session):
    """After a review the notice form defaulted to 处理决定告知 (the SMS then called the review's
    decision 处理决定), and the review's decision form offered a further 核查 ticked."""
    from app.services import complaint_clock as clock
    from app.services.complaint_handling import Decision

    c = factories.accepted_complaint(3, TEXT)
    decided = Decision(DECISION["verified"], DECISION["basis"], DECISION["decision_text"],
                       ("review", "mediation"), "callback")  # fmt: skip
    complaint_handling.decide(c.id, actor=_agent(), decision=decided)
    complaint_handling.request_review(
        c.id, actor=_agent(), requested_on=clock.local_date(c.decided_at), reason="客户书面申请核查"
    )
    db_session.commit()
    auth.login("manager")  # (the superior unit decides the review)
    panel = _panel(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True), "decide")
    ticked = set(
        re.findall(r'<input checked[^>]*value="(\w+)"|<input[^>]*value="(\w+)"[^>]*checked', panel)
    )
    ticked = {a or b for a, b in ticked}
    assert ticked == {"mediation", "arbitration", "litigation"}, ticked
    manager = db_session.scalar(select(User).where(User.username == "manager"))
    complaint_handling.decide(c.id, actor=manager, decision=decided)
    db_session.commit()
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    notice = _panel(page, "notice")
    assert re.search(
        r'<option selected value="review_decision">|<option value="review_decision" selected',
        notice,
    )


def _suggested(page: str) -> set[str]:
    listed = page.split('id="named-staff-people"', 1)[1].split("</datalist>", 1)[0]
    return set(re.findall(r'<option value="([^"]+)">', listed))


def test_staff_are_named_by_user_name_or_name_with_those_near_the_case_suggested(
    client, auth, db_session
):
    """Every active handler of the bank was an option of 涉及员工 on every case page (thousands
    in a large bank): the handlers of the case's 分行 and above are suggested, and anyone of
    the bank is named by typing a user name or a full name."""
    c = factories.accepted_complaint(1, TEXT, branch_code="HZ01")
    near = factories.user(branch_code="HZ01", username="near1", display_name="甄近")
    far = factories.user(branch_code="NJ", username="Far1", display_name="甄远")
    twin_nj = factories.user(branch_code="NJ", username="twin1", display_name="甄同")
    twin_hz = factories.user(branch_code="HZ", username="twin2", display_name="甄同")
    factories.user(branch_code="HZ", username="gone1", display_name="甄旧", active=False)
    db_session.commit()
    auth.login("hq")
    panel = _panel(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True), "classify")
    offered = _suggested(panel)
    assert {"near1", "twin2"} <= offered and not {"Far1", "twin1", "gone1"} & offered
    assert 'name="classify-named_staff"' not in panel  # (nobody named yet: no boxes)

    refused = _post(
        client, c, "classify", add_staff="甄同, 甄旧，火星人", named_branch="", **UNCODED
    )
    assert refused.status_code == 422
    said = unescape(_panel(refused.get_data(as_text=True), "classify"))
    assert "有 2 名员工名为“甄同”，请输入其中一人的用户名" in said
    assert "未找到在岗的投诉处理人员“甄旧”" in said and "未找到在岗的投诉处理人员“火星人”" in said
    assert 'value="甄同, 甄旧，火星人"' in said  # (what was typed is kept)
    db_session.refresh(c)
    assert not c.named_staff_ids

    typed = "far1、twin1 甄近"  # (user names in any case, a full name, any separator)
    saved = _post(client, c, "classify", add_staff=typed, named_branch="", **UNCODED)
    assert saved.status_code == 302
    db_session.refresh(c)
    assert c.named_staff_ids == sorted([near.id, far.id, twin_nj.id])
    panel = _panel(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True), "classify")
    assert "near1" not in _suggested(panel)  # (named already)
    ticked = re.findall(
        r'<input checked id="[^"]+" name="classify-named_staff"[^>]*value="(\d+)"', panel
    )
    assert sorted(map(int, ticked)) == c.named_staff_ids

    # unticking one lifts its 回避: a reason is asked, then the history names who went
    kept = [str(near.id), str(far.id)]
    refused = _post(client, c, "classify", named_staff=kept, named_branch="", **UNCODED)
    assert refused.status_code == 422
    db_session.refresh(c)
    assert twin_nj.id in c.named_staff_ids
    reason = "经核实该员工未经办本笔业务"
    saved = _post(
        client,
        c,
        "classify",
        named_staff=kept,
        add_staff="twin2",
        named_branch="",
        reason=reason,
        **UNCODED,
    )
    assert saved.status_code == 302
    db_session.refresh(c)
    assert c.named_staff_ids == sorted([near.id, far.id, twin_hz.id])
    last = db_session.scalars(
        select(ComplaintEvent.text)
        .where(ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "classified")
        .order_by(ComplaintEvent.id.desc())
    ).first()
    assert "新增涉及员工：甄同" in last and f"移除涉及员工：甄同；移除理由：{reason}" in last


def _received(content: str = TEXT):
    c, _ = complaints.create_complaint(
        IntakeData(channel="hotline", content=content, name="周静", branch_code="HZ01")
    )
    return c


def test_an_agent_accepting_a_case_nobody_holds_takes_it_unless_they_untick_it(
    client, auth, db_session
):
    """The agent who accepted a case found it still 待分派 and had to assign it to themselves."""
    agent = _agent()
    taken, left = _received(), _received()
    auth.login("agent")
    panel = _panel(client.get(f"/staff/complaints/{taken.id}").get_data(as_text=True), "accept")
    assert re.search(r'<input checked id="accept-take" name="accept-take" type="checkbox"', panel)
    assert "受理后由我处理" in panel
    assert (
        _post(client, taken, "accept", take="y", identity_check="caller_number").status_code == 302
    )
    assert _post(client, left, "accept", identity_check="caller_number").status_code == 302
    db_session.refresh(taken)
    db_session.refresh(left)
    assert (taken.status, taken.assignee_id) == ("accepted", agent.id)
    assert (left.status, left.assignee_id) == ("accepted", None)  # (unticked: left to assign)
    entry = db_session.scalars(
        select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == taken.id, ComplaintEvent.kind == "assigned"
        )
    ).one()
    assert entry.detail["how"] == "self" and entry.text == f"分派给 {agent.display_name}"
    # a manager is offered it unticked; a case someone holds offers nothing
    auth.logout()
    auth.login("manager")
    third = _received()
    panel = _panel(client.get(f"/staff/complaints/{third.id}").get_data(as_text=True), "accept")
    assert re.search(r'<input id="accept-take" name="accept-take" type="checkbox"', panel)
    complaint_casework.assign(third.id, agent.id, actor=agent)
    panel = _panel(client.get(f"/staff/complaints/{third.id}").get_data(as_text=True), "accept")
    assert "accept-take" not in panel
