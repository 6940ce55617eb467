"""The CLI commands CONTRACT.md names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from app.models import ApiToken, Customer, User
from app.services import tokens


def test_users_create_with_password_from_stdin(app, db_session):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--username",
            "wang.li",
            "--role",
            "branch_manager",
            "--branch",
            "NJ",
        ],
        input="Strong#Pass2026\n",
    )
    assert result.exit_code != 0  # without --password-stdin it prompts twice; no confirmation
    assert db_session.scalar(select(User).where(User.username == "wang.li")) is None
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--username",
            "wang.li",
            "--role",
            "branch_manager",
            "--branch",
            "NJ",
            "--password-stdin",
        ],
        input="Strong#Pass2026\n",
    )
    assert result.exit_code == 0, result.output
    user = db_session.scalar(select(User).where(User.username == "wang.li"))
    assert user.role == "branch_manager" and user.branch.code == "NJ"
    assert user.password_hash.startswith("$argon2id$")


def test_users_create_rejects_bad_input(app):
    runner = app.test_cli_runner()
    bad_role = runner.invoke(
        args=["users", "create", "--username", "bad.role", "--role", "boss", "--password-stdin"],
        input="Strong#Pass2026\n",
    )
    assert bad_role.exit_code != 0
    weak = runner.invoke(
        args=["users", "create", "--username", "weak.pw", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert weak.exit_code != 0 and "密码" in weak.output
    duplicate = runner.invoke(
        args=["users", "create", "--username", "agent", "--role", "admin", "--password-stdin"],
        input="Strong#Pass2026\n",
    )
    assert duplicate.exit_code != 0 and "已被使用" in duplicate.output


def test_users_create_names_the_roles_in_chinese_and_the_unknown_branch(app, db_session):
    runner = app.test_cli_runner()
    bad_role = runner.invoke(
        args=["users", "create", "--username", "bad.role", "--role", "boss", "--password-stdin"],
        input="Strong#Pass2026\n",
    )
    assert bad_role.exit_code == 1, bad_role.output
    assert bad_role.exception is None or isinstance(bad_role.exception, SystemExit)
    assert "未知角色：boss" in bad_role.output and "branch_manager" in bad_role.output
    branch = runner.invoke(
        args=["users", "create", "--username", "x.y", "--role", "agent", "--branch", "ZZ99",
              "--password-stdin"],
        input="Strong#Pass2026\n",
    )  # fmt: skip
    assert branch.exit_code == 1 and "机构代码 ZZ99 不存在" in branch.output
    assert db_session.scalar(select(User).where(User.username.in_(["bad.role", "x.y"]))) is None


def test_users_create_refuses_before_asking_for_a_password(app, db_session):
    runner = app.test_cli_runner()
    for args, message in (
        (["--username", "x.y", "--role", "boss"], "未知角色：boss"),
        (["--username", "x.y", "--role", "agent", "--branch", "ZZ99"], "机构代码 ZZ99 不存在"),
        (["--username", "x.y", "--role", "agent"], "必须指定所属机构"),
        (["--username", "agent", "--role", "admin"], "已被使用"),
    ):
        result = runner.invoke(args=["users", "create", *args], input="Strong#Pass2026\n" * 2)
        assert result.exit_code == 1 and message in result.output, result.output
        assert "Password" not in result.output  # refused before the prompt
    typed = runner.invoke(
        args=["users", "create", "--username", "x.y", "--role", "agent", "--branch", "HZ01"],
        input="Strong#Pass2026\n" * 2,
    )
    assert typed.exit_code == 0 and "Password" in typed.output, typed.output
    assert db_session.scalar(select(User).where(User.username == "x.y")).branch.code == "HZ01"


def test_users_reset_password(app, db_session):
    from app.security.passwords import verify_password

    runner = app.test_cli_runner()
    args = ["users", "reset-password", "--username", "AGENT", "--password-stdin"]
    weak = runner.invoke(args=args, input="short\n")
    assert weak.exit_code == 1 and "密码至少需要" in weak.output
    unknown = runner.invoke(
        args=["users", "reset-password", "--username", "nobody", "--password-stdin"],
        input="Strong#Pass2026\n",
    )
    assert unknown.exit_code == 1 and "员工账号 nobody 不存在" in unknown.output
    agent = db_session.scalar(select(User).where(User.username == "agent"))
    version = agent.session_version
    result = runner.invoke(args=args, input="Strong#Pass2026\n")
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    agent = db_session.get(User, agent.id)
    assert verify_password(agent.password_hash, "Strong#Pass2026")
    assert agent.session_version == version + 1  # its sessions ended


def test_api_tokens_create_prints_the_token_last(app, db_session, client):
    result = app.test_cli_runner().invoke(
        args=["api-tokens", "create", "--name", "core", "--scopes", "metrics:read"]
    )
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    token = tokens.find_token(secret)
    assert token is not None and token.scope_set == {"metrics:read"}
    response = client.get("/api/v1/branches", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


def test_api_tokens_default_to_all_scopes(app, db_session):
    result = app.test_cli_runner().invoke(args=["api-tokens", "create", "--name", "all"])
    secret = result.output.strip().splitlines()[-1]
    assert tokens.find_token(secret).scope_set == set(tokens.SCOPES)


def test_api_tokens_reject_unknown_scopes(app, db_session):
    result = app.test_cli_runner().invoke(
        args=["api-tokens", "create", "--name", "x", "--scopes", "everything"]
    )
    assert result.exit_code != 0
    assert db_session.scalar(select(func.count(ApiToken.id)).where(ApiToken.name == "x")) == 0


def test_api_tokens_refuse_an_empty_scopes_option(app, db_session):
    """``--scopes "$SCOPES"`` with the variable unset must not issue a token for everything."""
    for empty in ("", " ", ","):
        result = app.test_cli_runner().invoke(
            args=["api-tokens", "create", "--name", "empty", "--scopes", empty]
        )
        assert result.exit_code != 0 and "省略" in result.output
    assert db_session.scalar(select(func.count(ApiToken.id)).where(ApiToken.name == "empty")) == 0


def test_api_tokens_refuse_a_long_name(app, db_session):
    long = app.test_cli_runner().invoke(args=["api-tokens", "create", "--name", "名" * 101])
    assert long.exit_code == 1 and "最多 100 字" in long.output
    assert db_session.scalar(select(func.count(ApiToken.id))) == 0


def test_a_service_refusal_ends_a_command_with_its_message_not_a_traceback(app, db_session):
    result = app.test_cli_runner().invoke(args=["surveys", "send-campaign", "999999"])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == "Error: 调查活动不存在"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    # an id past the column's range (SQLite's OverflowError was a traceback)
    huge = app.test_cli_runner().invoke(args=["surveys", "send-campaign", "9" * 20])
    assert huge.exit_code == 2 and "is not in the range" in huge.output
    assert huge.exception is None or isinstance(huge.exception, SystemExit)


def test_demo_seed_is_repeatable_and_prints_logins(app, db_session):
    before = db_session.scalar(select(func.count(Customer.id)))
    result = app.test_cli_runner().invoke(
        args=["demo", "seed", "--customers", "40", "--responses", "0"]
    )
    assert result.exit_code == 0, result.output
    assert db_session.scalar(select(func.count(Customer.id))) == before
    # a second run says it added nothing (the totals of branches and products aside)
    assert "新增客户 0 人、员工账号 0 个、答卷/投诉/整改问题 0 条" in result.output
    for username in ("admin", "hq", "manager", "agent"):
        assert username in result.output
    assert "Kesheng@2026" in result.output


def test_demo_seed_refuses_a_database_holding_a_bank_s_own_tree(tmp_path):
    """After a bank's own branches were imported, demo seed stopped with a KeyError traceback
    (its customers were placed in the bank's units), and on a bank with only its head office
    it made a second head office."""
    from app.extensions import db
    from app.models import Branch
    from app.services import org_import
    from tests.support import make_app, migrate_to_head

    bank = make_app(f"sqlite:///{tmp_path / 'bank.db'}")
    with bank.app_context():
        migrate_to_head()
        tree = "code,name,kind,parent_code\nHQ,总行,head_office,\nSH01,上海分行,branch,HQ\n"
        org_import.import_branches("b.csv", tree.encode(), actor=None)
        db.session.commit()
        result = bank.test_cli_runner().invoke(args=["demo", "seed", "--customers", "5"])
        assert result.exit_code == 1, result.output
        assert "数据库中已有本行的机构树（总行 HQ）" in result.output
        assert "Traceback" not in result.output
        assert db.session.scalar(select(func.count(Branch.id))) == 2  # (nothing added)
        db.session.remove()
        db.engine.dispose()


def test_branches_set_customers_registers_counts_all_or_nothing(app, db_session):
    from app.models import Branch

    def count(code: str) -> int | None:
        return db_session.scalar(select(Branch.customer_count).where(Branch.code == code))

    runner = app.test_cli_runner()
    result = runner.invoke(args=["branches", "set-customers", "hz01=52000", "HZ02=", "NJ01=7"])
    assert result.exit_code == 0, result.output
    assert "西湖支行  52,000" in result.output and "滨江支行  未登记" in result.output
    assert (count("HZ01"), count("HZ02"), count("NJ01")) == (52000, None, 7)
    unknown = runner.invoke(args=["branches", "set-customers", "HZ01=1", "XX99=5"])
    assert unknown.exit_code == 1 and "机构代码不存在：XX99" in unknown.output
    assert count("HZ01") == 52000  # nothing changed
    for bad in ("HZ01=-3", "HZ01=many", "HZ01", "HZ01=²", "HZ01=99999999999999999999"):
        refused = runner.invoke(args=["branches", "set-customers", bad])
        assert refused.exit_code == 2 and "HZ01" in refused.output, refused.output
    assert count("HZ01") == 52000


def test_branches_import_loads_the_tree_all_or_nothing_and_updates_on_a_second_run(
    app, db_session, tmp_path
):
    from app.models import Branch

    def paths() -> dict[str, str]:
        return dict(db_session.execute(select(Branch.code, Branch.path)).tuples().all())

    good = tmp_path / "branches.csv"
    good.write_text(
        "code,name,kind,parent_code,city,address\n"
        "GS0101,城西网点,网点,GS01,杭州,文一路 9 号\n"  # (its parent comes on the next line)
        "GS01,城西支行,支行,HZ,杭州,\n",
        encoding="utf-8-sig",
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["branches", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "共 2 行：新建 2 个，更新 0 个，未变 0 个" in result.output
    assert paths()["GS0101"] == "/HO/HZ/GS01/GS0101/"
    again = runner.invoke(args=["branches", "import", str(good)])
    assert "新建 0 个，更新 0 个，未变 2 个" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,kind,parent_code\nGS02,城东支行,支行,HZ\nGS03,,支行,XX\n", encoding="utf-8"
    )
    before = paths()
    refused = runner.invoke(args=["branches", "import", str(bad)])
    assert refused.exit_code == 1
    assert "第 3 行：请填写机构名称；上级机构代码 XX 既不在文件中，也不是已有机构" in refused.stderr
    assert "文件中有 1 处错误，未导入任何数据" in refused.stderr
    assert paths() == before  # GS02 (a good line) was not stored either
    missing = runner.invoke(args=["branches", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2


def test_products_import_creates_and_updates_products(app, db_session, tmp_path):
    from app.models import Product

    path = tmp_path / "products.csv"
    path.write_text("产品代码,产品名称,产品类别\nGOLD,金卡,银行卡\nFUND,代销基金,理财\n")
    result = app.test_cli_runner().invoke(args=["products", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "共 2 行：新建 1 个，更新 0 个，未变 1 个" in result.output
    gold = db_session.scalar(select(Product).where(Product.code == "GOLD"))
    assert (gold.name, gold.category, gold.active) == ("金卡", "card", True)
    path.write_text("code,name,category\nGOLD,金卡,债券\n")
    refused = app.test_cli_runner().invoke(args=["products", "import", str(path)])
    assert refused.exit_code == 1 and "第 2 行：产品类别“债券”无效" in refused.stderr


def test_demo_seed_does_not_print_the_demo_password_for_an_account_it_did_not_make(app, db_session):
    """An account that existed before the seed (e.g. ``users create --username admin``) keeps
    its password; the printed logins must not claim it is Kesheng@2026."""
    from app.models import User
    from app.security.passwords import hash_password

    admin = db_session.scalar(select(User).where(User.username == "admin"))
    admin.password_hash = hash_password("Bank-own-Pass-2026")
    db_session.flush()
    result = app.test_cli_runner().invoke(
        args=["demo", "seed", "--customers", "40", "--responses", "0"]
    )
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert "Kesheng@2026" not in lines["admin"] and "原密码不变" in lines["admin"]
    assert "Kesheng@2026" in lines["agent"] and "agent" in lines["agent"].split()[2]


def test_import_mail_stores_what_it_can_and_exits_1_when_a_message_fails(app, db_session, tmp_path):
    from email.message import EmailMessage

    for name, body in (("good.eml", "信用卡年费未经同意被扣收，要求退还。"), ("empty.eml", "")):
        msg = EmailMessage()
        msg["From"] = "赵六 <zhao6@example.com>"
        msg["Subject"] = "投诉" if body else ""
        msg["Message-ID"] = f"<{name}@example.com>"
        msg.set_content(body)
        (tmp_path / name).write_bytes(bytes(msg))
    result = app.test_cli_runner().invoke(args=["complaints", "import-mail", str(tmp_path)])
    assert result.exit_code == 1
    assert "新登记 1 件，此前已导入 0 件，失败 1 件" in result.output
    again = app.test_cli_runner().invoke(
        args=["complaints", "import-mail", str(tmp_path / "good.eml")]
    )
    assert again.exit_code == 0 and "新登记 0 件，此前已导入 1 件，失败 0 件" in again.output


def test_nlp_evaluate_reports_metrics_and_refuses_bad_files(app, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "good.csv"
    good.write_bytes(
        "\ufefftext,label\n柜员很热情，办理很快,1\n乱收年费，态度很差,0\n还行吧,2\n".encode()
    )
    result = runner.invoke(args=["nlp", "evaluate", "--data", str(good)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 3 and report["mode"] == "three_way"
    import nlp

    assert report["model_version"] == nlp.model_version()
    assert set(report["per_class_f1"]) == {"negative", "positive", "neutral"}
    # the speed is the model's, not the time to load it (it read ~2 texts/s before)
    assert report["texts_per_second"] > 50
    bad = {
        "header_only.csv": (b"text,label\n", "no rows"),
        "gbk.csv": ("text,label\n很好,1\n".encode("gbk"), "not UTF-8"),
        "huge.csv": (('text,label\n"' + "好" * 140_000 + '",1\n').encode(), "field larger"),
        "columns.csv": (b"text,score\nx,1\n", "missing column"),
        "labels.csv": ("text,label\n很好,5\n".encode(), "label must be 0, 1 or 2"),
    }
    for name, (content, message) in bad.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = runner.invoke(args=["nlp", "evaluate", "--data", str(path)])
        assert result.exit_code == 1 and message in result.output, (name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_send_campaign_says_what_this_run_sent(app, db_session):
    """Run again, a campaign sends nobody twice, and the command says so (it printed the
    totals alone, the same both times, as if it had sent them again)."""
    from datetime import timedelta

    from app.models.base import utcnow
    from app.services import campaigns, surveys
    from tests import factories

    people = [factories.customer("NJ03", external_id=f"MAIL{n}") for n in range(2)]
    for n, person in enumerate(people):
        person.set_contact(email=f"walk{n}@example.com")
    now = utcnow()
    campaign = campaigns.create_campaign(
        campaigns.CampaignInput(
            name="命令行发送", survey_id=surveys.survey_by_code("mobile-banking").id,
            channel="email", audience="list", list_text="MAIL0\nMAIL1",
            window_start=now - timedelta(hours=1), window_end=now + timedelta(days=3),
        ),
        actor=None,
    )  # fmt: skip
    runner = app.test_cli_runner()
    first = runner.invoke(args=["surveys", "send-campaign", str(campaign.id)])
    assert first.exit_code == 0, first.output
    assert "本次发送 2；累计目标 2 人，已发送 2，跳过 0" in first.output, first.output
    again = runner.invoke(args=["surveys", "send-campaign", str(campaign.id)])
    assert "本次发送 0；累计目标 2 人，已发送 2，跳过 0" in again.output, again.output


def test_cli_send_campaign_says_a_closed_campaign_has_ended_and_dispatch_resumes_held_ones(
    app, db_session, monkeypatch
):
    """send-campaign on a closed campaign answered the quiet-hours note at night; dispatch
    never sent a campaign the quiet hours had held back."""
    from datetime import UTC, datetime, timedelta

    from app.services import campaigns, surveys
    from tests import factories

    night = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 22:00 in Beijing
    morning = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)  # 08:30
    factories.customer("NJ03", external_id="CLI1")
    made = [
        campaigns.create_campaign(
            campaigns.CampaignInput(
                name=name,
                survey_id=surveys.survey_by_code("mobile-banking").id,
                channel="sms",
                audience="list",
                list_text="CLI1",
                window_start=night - timedelta(hours=1),
                window_end=night + timedelta(days=3),
            ),
            actor=None,
            now=night,
        )
        for name in ("夜间发送", "已结束")
    ]
    held, closed = made
    campaigns.close_campaign(closed.id)
    runner = app.test_cli_runner()
    monkeypatch.setattr(campaigns, "utcnow", lambda: night)
    ended = runner.invoke(args=["surveys", "send-campaign", str(closed.id)])
    assert "（活动已结束，不能发送）" in ended.output and "免打扰" not in ended.output
    asked = runner.invoke(args=["surveys", "send-campaign", str(held.id)])
    assert "免打扰" in asked.output, asked.output
    assert "续发活动 0" in runner.invoke(args=["surveys", "dispatch"]).output
    monkeypatch.setattr(campaigns, "utcnow", lambda: morning)
    resumed = runner.invoke(args=["surveys", "dispatch"])
    assert resumed.exit_code == 0 and "续发活动 1" in resumed.output, resumed.output
    assert "续发活动 0" in runner.invoke(args=["surveys", "dispatch"]).output
    db_session.expire_all()
    assert (held.status, held.processed, held.note) == ("sent", 1, "")
    assert (closed.status, closed.processed) == ("closed", 0)


def test_nlp_analyze_since_reads_a_beijing_day_and_refuses_it_with_all(app, monkeypatch):
    """--since 2026-12-06 began at 08:00 Beijing time (midnight UTC), so the texts of that
    morning were not re-analysed; with --all it was ignored without a word."""
    from datetime import UTC, datetime

    from app.services import analysis

    asked = {}

    def work_list(*, since, everything):
        asked.update(since=since, everything=everything)
        return []

    monkeypatch.setattr(analysis, "work_list", work_list)
    runner = app.test_cli_runner()
    done = runner.invoke(args=["nlp", "analyze", "--since", "2026-12-06"])
    assert done.exit_code == 0, done.output
    assert asked["since"] == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    both = runner.invoke(args=["nlp", "analyze", "--since", "2026-12-06", "--all"])
    assert both.exit_code == 2 and "--since and --all exclude each other" in both.output


def test_users_create_refuses_a_password_sign_in_could_never_take(app, db_session):
    """A 1,200-character password or one holding a NUL was stored: the sign-in form (256
    characters, no control characters) then refused it, and the account could never log in."""
    for password, said in (
        ("Aa1!" * 300, "不能超过 128 个字符"),
        ("Str0ng\x00Pass!2026", "控制字符"),
    ):
        result = app.test_cli_runner().invoke(
            args=["users", "create", "--username", "long.pw", "--role", "hq_manager"]
            + ["--password-stdin"],
            input=password + "\n",
        )
        assert result.exit_code == 1 and said in result.output, result.output
        assert db_session.scalar(select(User).where(User.username == "long.pw")) is None


def test_users_import_prints_each_initial_password_once(app, db_session, tmp_path):
    from app.models import User

    staff = tmp_path / "staff.csv"
    staff.write_text(
        "用户名,姓名,角色,所属机构代码\ncli.agent,钱一,客服坐席,HZ01\ncli.hq,钱二,总分行管理,\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["users", "import", str(staff)])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert lines[0] == ["用户名", "姓名", "初始密码"] and [row[0] for row in lines[1:]] == [
        "cli.agent",
        "cli.hq",
    ]
    made = db_session.scalar(select(User).where(User.username == "cli.agent"))
    assert made.must_change_password and made.branch.code == "HZ01"
    bad = tmp_path / "bad.csv"
    bad.write_text("用户名,姓名,角色,所属机构代码\ncli.x,钱三,坐席,\n", encoding="utf-8")
    refused = app.test_cli_runner().invoke(args=["users", "import", str(bad)])
    assert refused.exit_code == 1 and "第 2 行：坐席和机构负责人必须指定所属机构" in refused.output


def test_dashboards_refresh_recent_recounts_todays_rollups(app, db_session):
    """The ten-minute safety net as a command, for cron where there is no broker: today's
    answers missing from the rollup are counted again."""
    from app.models import SatisfactionRollup
    from app.services import rollups
    from tests import factories

    factories.scored_responses("HZ01", datetime.now(UTC), [5, 4])
    today = rollups.local_day(datetime.now(UTC))
    mine = [
        SatisfactionRollup.period == "d",
        SatisfactionRollup.day == today,
        SatisfactionRollup.branch_id == factories.branch("HZ01").id,
    ]
    counted = select(func.sum(SatisfactionRollup.responses)).where(*mine)
    before = db_session.scalar(counted)
    db_session.execute(delete(SatisfactionRollup).where(*mine))
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["dashboards", "refresh-recent"])
    assert result.exit_code == 0 and "已重算近两天的汇总" in result.output, result.output
    assert db_session.scalar(counted) == before >= 2
