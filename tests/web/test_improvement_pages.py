"""整改 pages: board, new problem, problem page with chart, linking from a complaint, scope."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Role, User, utcnow
from app.models.improvement import ImprovementAction, Problem, ProblemLink
from app.services import complaint_clock, complaints, improvements
from app.services import improvement_actions as actions
from app.services.complaints import IntakeData
from tests import factories
from tests.support import csrf_token

TEXT = "信用卡年费多收了三百元，客服一直推诿，要求退还并说明收费依据。"


def make_complaint(branch="HZ01"):
    data = IntakeData(channel="hotline", content=TEXT, name="周静", phone="13612345678",
                      branch_code=branch)  # fmt: skip
    return complaints.create_complaint(data)[0]


def today():
    """The bank's (Beijing) date: an action may not be due before it."""
    return complaint_clock.local_date(utcnow())


def chief():
    """A head-office manager other than the demo's ``hq`` (who opens the problems here): the
    second person an override (人工认定) needs."""
    return factories.user(Role.HQ_MANAGER, "HO")


def done_action(p, hq, title, days_ago):
    """An action planned the day before and completed ``days_ago`` days ago, on time."""
    done_at = utcnow() - timedelta(days=days_ago)
    a = actions.add_action(p.id, actions.ActionData(title, done_at.date() + timedelta(days=1)),
                           actor=hq, now=done_at - timedelta(days=1))  # fmt: skip
    actions.change_action(p.id, a.id, "complete", actor=hq, text="已完成", now=done_at)
    return a


def make_problem(branch="HZ", title="信用卡年费告知不清"):
    hq = db.session.scalar(select(User).where(User.username == "hq"))
    data = improvements.ProblemData(title=title, root_cause="process", branch_code=branch)
    return improvements.create_problem(data, actor=hq), hq


def test_board_and_overview_for_managers_only(client, auth):
    p, _ = make_problem()
    auth.login("agent")
    assert client.get("/manager/improvements").status_code == 403
    auth.logout()
    auth.login("manager")
    page = client.get("/manager/improvements").get_data(as_text=True)
    assert "已立项" in page and "待验证" in page and p.title in page
    assert ">整改<" in page  # nav entry
    overview = client.get("/manager/improvements/overview").get_data(as_text=True)
    assert "闭环率" in overview and "杭州分行" in overview


def test_branch_manager_cannot_open_another_branchs_problem(client, auth):
    p, _ = make_problem("NJ", "南京分行排队时间过长")
    auth.login("manager")
    assert client.get(f"/manager/improvements/{p.id}").status_code == 404
    assert p.title not in client.get("/manager/improvements").get_data(as_text=True)


def test_new_problem_explains_bad_input_in_chinese_and_creates(client, auth):
    auth.login("manager")
    page = client.get("/manager/improvements/new").get_data(as_text=True)
    token = csrf_token(page)
    bad = client.post("/manager/improvements/new", data={"csrf_token": token, "title": "",
                      "root_cause": "", "branch_code": "NJ", "window_days": "5"})  # fmt: skip
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请填写问题标题" in text and "14–365" in text
    assert "请选择问题负责人" in text  # (nobody responsible: nobody chased)
    for typed, said in (("0", "对比窗口须为 14–365 天"), ("", "请填写对比窗口")):
        bad = client.post("/manager/improvements/new", data={"csrf_token": token,
                          "window_days": typed})  # fmt: skip
        text = bad.get_data(as_text=True)
        assert bad.status_code == 400 and said in text, typed
        assert typed == "" or "请填写对比窗口" not in text  # (0 was told to fill it in)
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    gone = factories.user(Role.AGENT, "HZ01", active=False)
    db.session.commit()
    for forged, said in (
        ("abc", "请选择问题负责人"),
        (str(admin.id), "系统管理员不处理客户数据，不能作为责任人"),
        (str(gone.id), "的账号已停用，不能作为责任人"),
    ):
        refused = client.post(
            "/manager/improvements/new",
            data={"csrf_token": token, "title": "网点排队时间过长", "root_cause": "process",
                  "branch_code": "HZ01", "window_days": "60", "owner_id": forged},
        )  # fmt: skip
        assert refused.status_code == 400 and said in refused.get_data(as_text=True), forged
    owner = str(db.session.scalar(select(User.id).where(User.username == "manager")))
    ok = client.post(
        "/manager/improvements/new",
        data={"csrf_token": token, "title": "网点排队时间过长", "root_cause": "process",
              "branch_code": "NJ", "window_days": "60", "owner_id": owner},
    )  # fmt: skip
    assert ok.status_code == 400 and "管辖范围内的机构" in ok.get_data(as_text=True)
    ok = client.post(
        "/manager/improvements/new",
        data={"csrf_token": token, "title": "网点排队时间过长", "root_cause": "process",
              "branch_code": "HZ01", "window_days": "60", "owner_id": owner},
    )  # fmt: skip
    assert ok.status_code == 302
    made = db.session.scalar(select(Problem).where(Problem.title == "网点排队时间过长"))
    assert made.owner_id == int(owner)


def test_link_from_the_complaint_page(client, auth):
    p, _ = make_problem()
    c = make_complaint()
    auth.login("agent")
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert "关联到问题" in page and p.title in page
    resp = client.post("/manager/improvements/link", data={
        "csrf_token": csrf_token(page), "link-problem_id": str(p.id),
        "link-source_type": "complaint", "link-source_id": str(c.id)})  # fmt: skip
    assert resp.status_code == 302 and f"/staff/complaints/{c.id}" in resp.location
    link = db.session.scalar(select(ProblemLink).where(ProblemLink.problem_id == p.id))
    assert link.source_id == c.id and link.linked_by_id is not None


def test_problem_page_shows_actions_chart_data_and_refuses_early_close(client, auth):
    p, hq = make_problem()
    c = make_complaint()
    improvements.link_cases(p.id, "complaint", [c.id], actor=hq)
    a = actions.add_action(p.id, actions.ActionData("修订年费告知话术", today()), actor=hq)
    actions.change_action(p.id, a.id, "complete", actor=hq, text="培训已完成",
                          now=utcnow() - timedelta(days=3))  # fmt: skip
    auth.login("manager")
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    assert "修订年费告知话术" in page and c.reference in page and "观察期尚未结束" in page
    data = re.search(r'id="im-chart-data">(.*?)</script>', page, re.S).group(1)
    figure = json.loads(data)
    assert {t["name"] for t in figure["data"]} == {"整改前", "整改后"}
    assert "<script>" not in page  # CSP: no inline scripts
    resp = client.post(f"/manager/improvements/{p.id}/close",
                       data={"csrf_token": csrf_token(page)})  # fmt: skip
    assert resp.status_code == 409 and "不能闭环" in resp.get_data(as_text=True)


def test_problem_timeline_labels_the_cases_date_and_the_linking_date(client, auth):
    p, hq = make_problem()
    c = make_complaint()
    c.received_at = utcnow() - timedelta(days=30)
    db.session.flush()
    improvements.link_cases(p.id, "complaint", [c.id], actor=hq)
    auth.login("manager")
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    received = (c.received_at + timedelta(hours=8)).strftime("%Y-%m-%d")
    linked = (utcnow() + timedelta(hours=8)).strftime("%Y-%m-%d")
    item = re.search(r'<li class="im-tl im-tl-complaint">(.*?)</li>', page, re.S).group(1)
    assert re.search(rf"受理 <span class=\"mono\">{received}</span>", item), item
    assert re.search(rf"关联于 <span class=\"mono\">{linked}</span>", item), item


def test_evidence_upload_and_download(client, auth):
    p, hq = make_problem()
    a = actions.add_action(p.id, actions.ActionData("张贴收费公示", today()), actor=hq)
    auth.login("manager")
    token = csrf_token(client.get(f"/manager/improvements/{p.id}").get_data(as_text=True))
    import io

    resp = client.post(
        f"/manager/improvements/{p.id}/actions/{a.id}/complete",
        data={"csrf_token": token, f"change-{a.id}-text": "已在全部网点张贴",
              f"change-{a.id}-files": (io.BytesIO(b"photo-bytes"), "公示照片.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert resp.status_code == 302
    db.session.refresh(a)
    assert a.status == "done" and a.evidence == "已在全部网点张贴"
    f = a.attachments[0]
    got = client.get(f"/manager/improvements/{p.id}/actions/{a.id}/files/{f.id}")
    assert got.data == b"photo-bytes" and got.headers["X-Content-Type-Options"] == "nosniff"


def test_a_refused_change_stays_under_its_own_action(client, auth):
    p, hq = make_problem()
    first = actions.add_action(p.id, actions.ActionData("张贴收费公示", today()), actor=hq)
    second = actions.add_action(p.id, actions.ActionData("培训话术", today()), actor=hq)
    auth.login("manager")
    token = csrf_token(client.get(f"/manager/improvements/{p.id}").get_data(as_text=True))
    refused = client.post(
        f"/manager/improvements/{p.id}/actions/{second.id}/complete",
        data={
            "csrf_token": token,
            f"change-{second.id}-text": "培训已完成",
            f"change-{second.id}-resurvey": "y",
            f"change-{second.id}-survey_id": "",
        },
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    articles = dict(
        re.findall(r'<article class="im-action[^"]*" id="a(\d+)">(.*?)</article>', page, re.S)
    )
    assert "请选择回访问卷" in articles[str(second.id)]
    assert "培训已完成" in articles[str(second.id)]
    assert "请选择回访问卷" not in articles[str(first.id)]
    assert "培训已完成" not in articles[str(first.id)]
    # every field of the page has its own id, so each label names its own field
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    db.session.refresh(second)
    assert second.status != "done"


def test_edit_a_problem_records_the_change_and_respects_scope(client, auth):
    problem, _ = make_problem()
    auth.login("manager")
    url = f"/manager/improvements/{problem.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert "编辑问题" in page and problem.title in page
    form = {
        "csrf_token": csrf_token(page),
        "title": "信用卡年费减免规则告知不清（已细化）",
        "description": "客户不清楚刷卡次数达标可免年费",
        "root_cause": "process",
        "branch_code": "HZ",
        "window_days": "45",
        "owner_id": str(db.session.scalar(select(User.id).where(User.username == "manager"))),
    }
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    changed = db.session.get(Problem, problem.id)
    assert changed.title.endswith("（已细化）") and changed.window_days == 45
    assert any(e.kind == "changed" for e in improvements.history(changed))
    bad = client.post(url, data={**form, "title": ""})
    assert bad.status_code == 400 and "请填写问题标题" in bad.get_data(as_text=True)
    auth.logout()
    auth.login("manager_nj")
    assert client.get(url).status_code == 404


def test_case_picker_masks_personal_data_in_complaint_texts(client, auth):
    p, _ = make_problem()
    data = IntakeData(channel="hotline", content="年费多收，请回电13912345678处理", name="周静",
                      branch_code="HZ01")  # fmt: skip
    c = complaints.create_complaint(data)[0]
    auth.login("manager")
    page = client.get(f"/manager/improvements/{p.id}/cases").get_data(as_text=True)
    assert c.reference in page and "139****5678" in page and "13912345678" not in page
    # a suggested case shows its number, opening it, so the manager can check it first
    suggested = page.split("系统推荐")[1].split("投诉列表")[0]
    assert f'href="/staff/complaints/{c.id}">{c.reference}</a>' in suggested
    assert f'aria-label="选择推荐 {c.reference}"' in suggested


def _close_card(page: str) -> str:
    return page.split('id="close"')[1].split("</section>")[0]


def test_close_button_is_disabled_with_its_reason_and_a_refusal_is_flashed_at_the_top(client, auth):
    p, hq = make_problem()
    auth.login("manager")
    card = _close_card(client.get(f"/manager/improvements/{p.id}").get_data(as_text=True))
    assert "disabled" in card and "尚无整改措施，不能闭环" in card
    a = actions.add_action(p.id, actions.ActionData("修订年费告知话术", today()), actor=hq)
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    assert "还有 1 项整改措施未完成" in _close_card(page)
    actions.change_action(p.id, a.id, "complete", actor=hq, text="培训已完成",
                          now=utcnow() - timedelta(days=3))  # fmt: skip
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    card = _close_card(page)
    assert "disabled" in card and re.search(r"观察期尚未结束，还需 \d+ 天", card)
    resp = client.post(f"/manager/improvements/{p.id}/close",
                       data={"csrf_token": csrf_token(page)})  # fmt: skip
    html = resp.get_data(as_text=True)
    flash = html.split('<div class="flash flash-error" role="status">')[1].split("</div>")[0]
    assert resp.status_code == 409 and "整改效果未通过验证" in flash
    assert html.index("flash-error") < html.index("<h1")  # at the top, not in the card
    assert "人工认定不能跳过观察期" in flash  # why, and what will unlock it


def test_an_override_unlocks_closing_only_after_the_observation_period(client, auth):
    """人工认定 unlocked 闭环 on day one: three days into the 60-day observation period, by the
    problem's own owner. It is refused while observing (for anyone); once the period is over
    without a conclusive verdict only someone above the problem other than its owner may give
    it; the problem is then 人工认定闭环, its action 已完成 (not 已验证), and the overview counts
    it apart from 验证通过 and out of the days to verification."""
    factories.sub_branch("HZT7", "测试认定支行")  # no answers: too few to judge
    hq = db.session.scalar(select(User).where(User.username == "hq"))
    owner = db.session.scalar(select(User).where(User.username == "manager"))
    data = improvements.ProblemData(title="大额存单到期自动转存未告知", root_cause="process",
                                    branch_code="HZT7", owner_id=owner.id)  # fmt: skip
    p = improvements.create_problem(data, actor=hq)
    a = actions.add_action(p.id, actions.ActionData("补发告知短信", today()), actor=hq)
    actions.change_action(p.id, a.id, "complete", actor=owner, text="已补发",
                          now=utcnow() - timedelta(days=3))  # fmt: skip
    url = f"/manager/improvements/{p.id}"
    reason = {"override-reason": "该业务已停办，经复核整改落实到位"}
    auth.login("hq")  # above the problem and not its owner, but the period is still running
    page = client.get(url).get_data(as_text=True)
    override = _card(page, "override")
    assert "disabled" in override and 'name="override-reason"' not in override
    assert re.search(r"观察期尚未结束（还需 \d+ 天），不能人工认定", override)
    assert "人工认定是例外" in override and "问题负责人以外" in override
    resp = client.post(f"{url}/override", data={"csrf_token": csrf_token(page), **reason})
    assert resp.status_code == 400 and "不能人工认定" in resp.get_data(as_text=True)
    assert "disabled" in _close_card(client.get(url).get_data(as_text=True))
    db.session.expire_all()
    assert not db.session.get(Problem, p.id).overridden
    auth.logout()
    # the observation period is over, with too few answers to judge
    a = db.session.get(Problem, p.id).actions[0]
    a.done_at = utcnow() - timedelta(days=70)
    db.session.flush()
    auth.login("manager")  # the owner may not accept their own improvement
    page = client.get(url).get_data(as_text=True)
    override = _card(page, "override")
    assert "您是本问题的负责人" in override and 'name="override-reason"' not in override
    resp = client.post(f"{url}/override", data={"csrf_token": csrf_token(page), **reason})
    assert resp.status_code == 400 and "不能认定自己负责的整改" in resp.get_data(as_text=True)
    auth.logout()
    auth.login("hq")
    page = client.get(url).get_data(as_text=True)
    assert 'name="override-reason"' in _card(page, "override")
    resp = client.post(f"{url}/override", data={"csrf_token": csrf_token(page), **reason})
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    card = _close_card(page)
    assert "disabled" not in card and "close-blocker" not in card
    assert client.post(f"{url}/close", data={"csrf_token": csrf_token(page)}).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "人工认定闭环" in page.split("</h1>")[0]
    article = page.split(f'id="a{a.id}"')[1].split("</article>")[0]
    assert "已完成" in article and "已验证" not in article
    db.session.expire_all()
    closed = db.session.get(Problem, p.id)
    assert closed.verified_at is None and closed.actions[0].status == "done"
    from app.services import improvement_figures as figures

    total, _ = figures.overview()
    assert total.overridden >= 1 and total.verified + total.overridden <= total.closed
    overview = client.get("/manager/improvements/overview").get_data(as_text=True)
    assert f"人工认定闭环 {total.overridden} 个" in overview
    closed.actions[0].status = "verified"  # as closing on an override used to store it
    db.session.flush()
    article = _article(client.get(url).get_data(as_text=True), a.id)
    assert "已完成" in article and "已验证" not in article


def _card(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("</section>")[0]


def _buttons(page: str, action_id: int) -> dict[str, bool]:
    """The buttons on an action: label -> enabled."""
    article = page.split(f'id="a{action_id}"')[1].split("</article>")[0]
    found = re.findall(r'<button type="submit"([^>]*)>([^<]+)</button>', article)
    return {label: " disabled" not in attrs for attrs, label in found}


def test_verification_waits_for_the_actions_and_gives_no_verdict_before(client, auth):
    p, hq = make_problem()
    auth.login("manager")
    card = _card(client.get(f"/manager/improvements/{p.id}").get_data(as_text=True), "verification")
    assert "尚无整改措施，整改措施完成后开始验证" in card
    assert "验证时将对比：最后一项措施完成前后各 60 天" in card and "净推荐值（NPS）" in card
    assert "im-verdict" not in card and "数据不足" not in card and "im-chart" not in card
    a = actions.add_action(p.id, actions.ActionData("修订年费告知话术", today()), actor=hq)
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    card = _card(page, "verification")
    assert "还有 1 项整改措施未完成，全部完成后开始验证" in card and "im-verdict" not in card
    override = _card(page, "override")  # nothing to accept yet: disabled, with why
    assert "disabled" in override and "整改措施全部完成后才能人工认定" in override
    assert 'name="override-reason"' not in override
    actions.change_action(p.id, a.id, "complete", actor=hq, text="培训已完成",
                          now=utcnow() - timedelta(days=3))  # fmt: skip
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    card = _card(page, "verification")
    assert "观察期中，暂不判断" in card and "观察中" in card and "im-chart" in card
    override = _card(page, "override")  # not while observing
    assert 'name="override-reason"' not in override and "观察期尚未结束" in override


def test_an_action_offers_only_what_its_state_allows(client, auth):
    p, hq = make_problem()
    a = actions.add_action(p.id, actions.ActionData("修订年费告知话术", today()), actor=hq)
    auth.login("manager")
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    edit = {"保存修改": True, "撤销措施": True}  # an open action can be corrected or cancelled
    assert _buttons(page, a.id) == {"开始整改": True, "完成": True, "补充证据": True, **edit}
    actions.change_action(p.id, a.id, "start", actor=hq)
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    assert _buttons(page, a.id) == {"完成": True, "补充证据": True, **edit}
    assert "回访调查" in page  # the re-survey choice goes with 完成
    actions.change_action(p.id, a.id, "complete", actor=hq, text="培训已完成",
                          now=utcnow() - timedelta(days=70))  # fmt: skip
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    assert _buttons(page, a.id) == {"验证": False, "重新打开": True, "补充证据": True}
    article = page.split(f'id="a{a.id}"')[1].split("</article>")[0]
    assert f'id="a{a.id}-verify-blocker"' in article and "人工认定不等于验证通过" in article
    assert "回访调查" not in article
    improvements.override_verification(p.id, "该业务已停办，经复核整改落实到位", actor=chief())
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    assert _buttons(page, a.id)["验证"] is False  # an override does not verify the action
    improvements.close_problem(p.id, actor=hq)
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    assert _buttons(page, a.id) == {"重新打开": True}


def _problem_with_nps(client, auth, after: tuple[int, int, int]) -> str:
    """A problem in a fresh sub-branch whose NPS was 20 on 400 answers before its action."""
    factories.sub_branch("HZT8", "测试显著性支行")
    p, hq = make_problem("HZT8", "理财到期提醒不及时")
    done_at = utcnow() - timedelta(days=61)
    factories.scored_responses("HZT8", done_at - timedelta(days=50),
                               factories.nps_answers(160, 160, 80), "nps")  # fmt: skip
    factories.scored_responses("HZT8", done_at + timedelta(days=10),
                               factories.nps_answers(*after), "nps")  # fmt: skip
    done_action(p, hq, "上线到期提醒", 61)
    auth.login("manager")
    card = _card(client.get(f"/manager/improvements/{p.id}").get_data(as_text=True), "verification")
    return re.search(r"<td>净推荐值（NPS）</td>(.*?)</tr>", card, re.S).group(1)


def test_a_small_nps_change_on_many_answers_is_no_significant_change(client, auth):
    row = _problem_with_nps(client, auth, (148, 172, 80))  # 20 -> 17: z = -0.57
    assert ">17.0<" in row and ">400<" in row
    assert "无显著变化" in row and "变差" not in row and "z = -0.57" in row


def test_a_large_nps_fall_on_the_same_answers_is_worse(client, auth):
    row = _problem_with_nps(client, auth, (120, 160, 120))  # 20 -> 0: z = -3.71
    assert "变差" in row and "z = -3.71" in row


def _board_card(client, title: str) -> str:
    page = client.get("/manager/improvements").get_data(as_text=True)
    return page.split(f'<div class="im-card-title">{title}</div>')[1].split("</a>")[0]


def test_the_board_says_observing_and_no_verdict_while_an_action_is_open(client, auth):
    from app.services import improvement_figures as figures

    p, hq = make_problem(title="年费短信提醒缺失")
    a = actions.add_action(p.id, actions.ActionData("上线年费提醒短信", today()), actor=hq)
    actions.change_action(p.id, a.id, "complete", actor=hq, text="已上线",
                          now=utcnow() - timedelta(days=3))  # fmt: skip
    figures.refresh(p, utcnow())  # (stored as a verify or close attempt stores it)
    db.session.flush()
    auth.login("manager")
    card = _board_card(client, p.title)
    assert ">观察中</span>" in card and "数据不足" not in card
    actions.add_action(p.id, actions.ActionData("柜面告知书修订", today()), actor=hq)
    card = _board_card(client, p.title)  # the stored verdict predates the new action
    assert "措施 1/2" in card and "im-verdict" not in card


def test_a_closed_problems_cases_stay_linked(client, auth):
    p, hq = make_problem()
    link = improvements.link_cases(p.id, "complaint", [make_complaint().id], actor=hq)[0]
    done_action(p, hq, "修订话术", 70)
    improvements.close_problem(p.id, actor=hq)
    auth.login("manager")
    token = csrf_token(client.get(f"/manager/improvements/{p.id}").get_data(as_text=True))
    answer = client.post(f"/manager/improvements/{p.id}/links/{link.id}/unlink",
                         data={"csrf_token": token}, follow_redirects=True)  # fmt: skip
    assert answer.status_code == 200 and "问题已闭环" in answer.get_data(as_text=True)
    assert db.session.get(ProblemLink, link.id) is not None


def _dashboard_problem_card(client, query: str = "") -> tuple[str, str]:
    html = client.get(f"/manager/dashboards/{query}").get_data(as_text=True)
    found = re.search(
        r'问题整改</div>\s*<div class="dash-card-value">([^<]+)</div>\s*'
        r'<div class="dash-card-sub">([^<]+)</div>',
        html,
    )
    assert found, "no 问题整改 card"
    return found.group(1), found.group(2)


def test_dashboard_problem_card_counts_as_the_closure_overview_does(client, auth):
    """The 看板 card said 「已验证」 for a problem closed on a manager's written override
    (人工认定, 数据不足), which 闭环概览 rightly does not count as 验证通过."""
    factories.sub_branch("HZT7", "测试认定支行")  # no answers: too few to judge
    overridden, hq = make_problem("HZT7", title="大额存单到期自动转存未告知")
    done_action(overridden, hq, "补发告知短信", 70)
    improvements.override_verification(overridden.id, "该业务已停办，经复核整改落实到位",
                                       actor=chief())  # fmt: skip
    improvements.close_problem(overridden.id, actor=hq)
    make_problem(title="营销电话过于频繁")
    auth.login("manager")
    value, sub = _dashboard_problem_card(client)
    overview = client.get("/manager/improvements/overview").get_data(as_text=True)
    problems = int(re.search(r'kpi-value">(\d+)</div><div class="kpi-label">问题总数', overview)[1])
    closed, verified = map(
        int, re.search(r"已闭环 (\d+) 个，其中验证通过 (\d+) 个", overview).groups()
    )
    assert closed >= 1 and verified < closed  # the override is closed, not 验证通过
    # "closed / all": the card said "closed / open" ("3 / 12"), which read as "3 of 12"
    assert value == f"{closed} / {problems}"
    assert sub == (
        f"已闭环 / 问题总数；在办 {problems - closed}，已闭环中验证通过 {verified}；"
        "为当前状态，不按日期、渠道筛选"
    )


def test_dashboard_problem_card_follows_the_product_filter(client, auth):
    """Under 产品 = 信用卡 the card still counted every problem of the bank, though every other
    figure of the page was the product's."""
    auth.login("manager")

    def card_totals(query: str = "") -> int:
        return int(_dashboard_problem_card(client, query)[0].split(" / ")[1])

    before, before_credit = card_totals(), card_totals("?product=CREDIT")
    hq = db.session.scalar(select(User).where(User.username == "hq"))
    card = improvements.ProblemData(
        title="信用卡分期手续费未告知",
        root_cause="process",
        branch_code="HZ",
        product_code="CREDIT",
    )
    improvements.create_problem(card, actor=hq)
    make_problem(title="网点排队时间过长")  # no product
    mortgage = improvements.ProblemData(
        title="房贷提前还款排队", root_cause="process", branch_code="HZ", product_code="MORTGAGE"
    )
    improvements.create_problem(mortgage, actor=hq)
    assert card_totals() == before + 3
    assert card_totals("?product=CREDIT") == before_credit + 1
    assert _dashboard_problem_card(client, "?product=CREDIT")[1].startswith(
        "已闭环 / 问题总数（限所选产品）；"
    )
    # its link opens the board narrowed the same way (the board listed every problem)
    page = client.get("/manager/dashboards/?product=CREDIT").get_data(as_text=True)
    link = re.search(r'href="(/manager/improvements\?[^"]*)">查看整改看板', page)[1]
    assert "product=CREDIT" in link and "from=" not in link
    board = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "信用卡分期手续费未告知" in board and "房贷提前还款排队" not in board
    assert "只显示：" in board and "显示全部问题" in board
    everything = client.get("/manager/improvements").get_data(as_text=True)
    assert "房贷提前还款排队" in everything and "只显示：" not in everything
    assert "已逾期未完成" not in board  # (the overdue actions counted are the narrowed ones)
    assert "已逾期未完成" in client.get("/manager/improvements").get_data(as_text=True)
    wrong = client.get("/manager/improvements?product=NOPE")
    assert wrong.status_code == 422 and "筛选条件无效" in wrong.get_data(as_text=True)


def _overdue_banner(client) -> str:
    page = client.get("/manager/improvements").get_data(as_text=True)
    return page.split('<div class="flash flash-warning">')[1].split("</div>")[0]


def test_the_board_says_an_overdue_action_was_escalated_only_once_it_was(client, auth):
    """The board said 「已向负责人和管理人员督办」 of every overdue action, though escalation is
    a job (improvements.remind) that had not run: the demo's five were never escalated."""
    p, hq = make_problem(title="网点拒绝兑换零钱")
    yesterday, planned = today() - timedelta(days=1), utcnow() - timedelta(days=5)
    actions.add_action(p.id, actions.ActionData("零钱兑换制度培训", yesterday), actor=hq,
                       now=planned)  # fmt: skip
    auth.login("manager")
    first = _overdue_banner(client)
    total = int(re.search(r"有 (\d+) 项整改措施已逾期未完成", first)[1])
    assert re.search(r"，(其中 \d+ 项已向负责人和管理人员督办|尚未发出督办提醒)。", first)
    actions.remind_and_escalate()
    db.session.commit()
    assert f"有 {total} 项整改措施已逾期未完成，已向负责人和管理人员督办" in _overdue_banner(client)
    actions.add_action(p.id, actions.ActionData("张贴兑换告示", yesterday), actor=hq, now=planned)
    banner = _overdue_banner(client)
    assert f"有 {total + 1} 项整改措施已逾期未完成，其中 {total} 项已向负责人" in banner
    assert 'href="/manager/improvements/overview#overdue"' in banner


def _article(page: str, action_id: int) -> str:
    return page.split(f'id="a{action_id}"')[1].split("</article>")[0]


def test_an_action_due_in_the_past_is_refused_with_a_message(client, auth):
    """完成期限 2020-01-01 was saved and at once 已逾期."""
    p, _ = make_problem()
    auth.login("manager")
    url = f"/manager/improvements/{p.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    fields = {"csrf_token": token, "action-title": "修订年费告知话术"}
    resp = client.post(f"{url}/actions", data={**fields, "action-due_on": "2020-01-01"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    error = page.split('id="action-due_on-error"')[1].split("</div>")[0]
    assert f"完成期限不能早于今天（{today():%Y-%m-%d}）" in error
    db.session.expire_all()
    assert db.session.get(Problem, p.id).actions == []
    resp = client.post(f"{url}/actions", data={**fields, "action-due_on": today().isoformat()})
    assert resp.status_code == 302


def test_an_action_can_be_corrected_and_cancelled_on_the_problem_page(client, auth):
    p, hq = make_problem()
    planned = utcnow() - timedelta(days=10)
    overdue = today() - timedelta(days=2)
    first = actions.add_action(p.id, actions.ActionData("张贴收费公示", overdue), actor=hq,
                               now=planned)  # fmt: skip
    duplicate = actions.add_action(p.id, actions.ActionData("张贴收费公示（重复）", today(),
                                   owner_id=hq.id), actor=hq)  # fmt: skip
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    auth.login("manager")
    url = f"/manager/improvements/{p.id}"
    page = client.get(url).get_data(as_text=True)
    token = csrf_token(page)
    article = _article(page, first.id)
    assert "修改 / 撤销" in article and f'value="{overdue}"' in article
    # an owner outside the manager's branch (head office) stays chosen, not silently replaced
    options = re.findall(r"<option[^>]*>", _article(page, duplicate.id))
    assert any("selected" in o and f'value="{hq.id}"' in o for o in options), options
    edit = f"{url}/actions/{first.id}/edit"
    fields = {"csrf_token": token, f"edit-{first.id}-title": "在全部网点张贴收费公示",
              f"edit-{first.id}-owner_id": str(manager.id)}  # fmt: skip
    # another past date is refused under this action's own form …
    resp = client.post(edit, data={**fields, f"edit-{first.id}-due_on": "2020-01-01"})
    assert resp.status_code == 400
    assert "完成期限不能早于今天" in _article(resp.get_data(as_text=True), first.id)
    assert "完成期限不能早于今天" not in _article(resp.get_data(as_text=True), duplicate.id)
    # … but its own past date does not stop the other fields being corrected
    resp = client.post(edit, data={**fields, f"edit-{first.id}-due_on": overdue.isoformat()})
    assert resp.status_code == 302
    later = today() + timedelta(days=14)
    resp = client.post(edit, data={**fields, f"edit-{first.id}-due_on": later.isoformat()})
    assert resp.status_code == 302
    db.session.expire_all()
    changed = db.session.get(ImprovementAction, first.id)
    assert (changed.title, changed.owner_id, changed.due_on) == (
        "在全部网点张贴收费公示", manager.id, later,
    )  # fmt: skip
    # 撤销 needs a reason
    cancel = f"{url}/actions/{duplicate.id}/cancel"
    resp = client.post(cancel, data={"csrf_token": token, f"cancel-{duplicate.id}-text": ""})
    assert resp.status_code == 400
    assert "请写明撤销的原因" in _article(resp.get_data(as_text=True), duplicate.id)
    resp = client.post(cancel, data={"csrf_token": token,
                       f"cancel-{duplicate.id}-text": "与第一项措施重复"})  # fmt: skip
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    article = _article(page, duplicate.id)
    assert "<s" in article and "张贴收费公示（重复）</s>" in article and "已撤销" in article
    assert "撤销原因：与第一项措施重复" in article and "<button" not in article
    assert "还有 1 项整改措施未完成" in _close_card(page)  # only the real one is left
    history = page.split("<h2>整改记录</h2>")[1]
    assert "撤销整改措施：张贴收费公示（重复）。与第一项措施重复" in history
    assert "修改整改措施：张贴收费公示（" in history and f"期限 {overdue} → {later}" in history
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_an_action_completed_after_its_due_date_says_how_late(client, auth):
    p, hq = make_problem()
    due = today() - timedelta(days=5)
    late = actions.add_action(p.id, actions.ActionData("系统改造", due), actor=hq,
                              now=utcnow() - timedelta(days=10))  # fmt: skip
    actions.change_action(p.id, late.id, "complete", actor=hq, text="已上线")
    on_time = actions.add_action(p.id, actions.ActionData("培训", today()), actor=hq)
    actions.change_action(p.id, on_time.id, "complete", actor=hq, text="已培训")
    auth.login("manager")
    page = client.get(f"/manager/improvements/{p.id}").get_data(as_text=True)
    article = _article(page, late.id)
    assert ">逾期完成</span>" in article and f"期限 {due}（逾期 5 天完成）" in article
    article = _article(page, on_time.id)
    assert ">已完成</span>" in article and "逾期" not in article
