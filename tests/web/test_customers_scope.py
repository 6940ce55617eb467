"""Branch scope on customers, masking, audited unmasked views, personal data encrypted at rest."""

from __future__ import annotations

from sqlalchemy import select, text

from app.models import AuditLog, Customer
from app.services import customers, scope
from tests import factories
from tests.support import csrf_token


def test_branch_manager_sees_only_their_subtree(auth, client, db_session):
    mine = factories.customer("HZ02", name="杭州客户")
    other = factories.customer("NJ01", name="南京客户")
    db_session.commit()
    auth.login("manager")  # branch manager of HZ
    listing = client.get("/staff/customers?q=客户").get_data(as_text=True)
    assert mine.external_id in listing and other.external_id not in listing
    assert client.get(f"/staff/customers/{mine.id}").status_code == 200
    assert client.get(f"/staff/customers/{other.id}").status_code == 404


def test_hq_manager_sees_the_whole_bank(auth, client, db_session):
    other = factories.customer("NJ01")
    db_session.commit()
    auth.login("hq")
    assert client.get(f"/staff/customers/{other.id}").status_code == 200


def test_scope_applies_to_every_query_not_only_views(db_session):
    hz = factories.customer("HZ03")
    nj = factories.customer("NJ02")
    db_session.commit()
    hz_id, nj_id, nj_path = hz.id, nj.id, factories.branch("NJ").path
    db_session.expunge_all()
    scope.bind(db_session, scope.BranchScope(nj_path))
    try:
        assert db_session.get(Customer, hz_id) is None
        assert db_session.get(Customer, nj_id) is not None
        ids = set(db_session.scalars(select(Customer.id)).all())
        assert nj_id in ids and hz_id not in ids
    finally:
        scope.bind(db_session, scope.WHOLE_BANK)


def test_list_masks_personal_data(auth, client, db_session):
    customer = factories.customer("HZ01", phone="13912345678", name="张三丰")
    db_session.commit()
    auth.login("agent")
    html = client.get(f"/staff/customers?q={customer.external_id}").get_data(as_text=True)
    assert "139****5678" in html and "13912345678" not in html
    assert "张*丰" in html and "张三丰" not in html


def test_a_customer_number_typed_full_width_finds_the_customer(auth, client, db_session):
    import unicodedata

    customer = factories.customer("HZ01")
    db_session.commit()
    # what a Chinese keyboard in full-width mode types: Ｃ００… for C00…
    typed = "".join(chr(ord(c) + 0xFEE0) for c in customer.external_id)
    assert unicodedata.normalize("NFKC", typed) == customer.external_id != typed
    auth.login("agent")
    html = client.get("/staff/customers", query_string={"q": f" {typed} "}).get_data(as_text=True)
    assert f"/staff/customers/{customer.id}" in html


def test_unmasked_view_needs_a_reason_and_is_audited(auth, client, db_session):
    customer = factories.customer("HZ01", phone="13912345678")
    db_session.commit()
    auth.login("agent")
    url = f"/staff/customers/{customer.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    refused = client.post(url, data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 400 and "13912345678" not in refused.get_data(as_text=True)
    shown = client.post(url, data={"csrf_token": token, "reason": "回访核实联系方式"})
    assert "13912345678" in shown.get_data(as_text=True)
    entry = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "customer.view_unmasked")
    ).one()
    assert entry.object_id == str(customer.id) and entry.reason == "回访核实联系方式"
    assert entry.actor_name == "agent"


def test_contact_data_is_encrypted_at_rest_and_findable_by_phone(db_session):
    customer = factories.customer("HZ01", phone="138 1234 5678")
    db_session.commit()
    raw = db_session.execute(
        text("SELECT phone FROM customer WHERE id = :id"), {"id": customer.id}
    ).scalar()
    assert "5678" not in raw and raw.startswith("v1:")
    found = customers.search_customers("+86 13812345678").items
    assert [c.id for c in found] == [customer.id]


def test_customer_page_lists_their_dealings_within_the_viewers_scope(auth, client, db_session):
    from app.services.complaints import IntakeData, create_complaint

    customer = factories.customer("HZ02", name="往来客户")
    db_session.commit()
    cases = [
        create_complaint(
            IntakeData(
                channel="hotline", content=f"信用卡年费问题，第{n}次反映", name="往来客户",
                external_id=customer.external_id, branch_code=branch,
            )
        )[0].reference
        for n, branch in ((1, "HZ02"), (2, "NJ01"))
    ]  # fmt: skip
    auth.login("manager")  # Hangzhou: sees the case at HZ02, not the one at NJ01
    page = client.get(f"/staff/customers/{customer.id}").get_data(as_text=True)
    assert "客户往来" in page and "投诉（1）" in page
    assert cases[0] in page and cases[1] not in page


def test_staff_record_a_customer_s_opt_out_and_take_it_back(auth, client, db_session):
    """Every SMS ends "回复TD退订", yet nothing could record one: invitations went on."""
    customer = factories.customer("HZ01")
    other = factories.customer("NJ01")
    db_session.commit()
    auth.login("agent")
    page = client.get(f"/staff/customers/{customer.id}").get_data(as_text=True)
    assert "登记调查退订" in page and "未退订" in page
    path = f"/staff/customers/{customer.id}/opt-out"
    token = csrf_token(page)
    done = client.post(
        path,
        data={"csrf_token": token, "channels": ["sms", "wechat"], "note": "短信回复TD"},
        follow_redirects=True,
    )
    assert "已登记：客户退订短信、微信调查邀请" in done.get_data(as_text=True)
    db_session.refresh(customer)
    assert not customer.opted_out and customer.opted_out_channels == "sms,wechat"
    client.post(path, data={"csrf_token": token, "everything": "y"})
    db_session.refresh(customer)
    assert customer.opted_out and customer.opted_out_channels == ""
    assert "已退订全部调查" in client.get(f"/staff/customers/{customer.id}").get_data(as_text=True)
    back = client.post(path, data={"csrf_token": token}, follow_redirects=True)
    assert "已取消退订" in back.get_data(as_text=True)
    db_session.refresh(customer)
    assert not customer.opted_out and customer.opted_out_channels == ""
    logged = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "customer.opt_out").order_by(AuditLog.id)
    ).all()
    assert [e.detail["after"]["opted_out"] for e in logged] == [False, True, False]
    assert logged[0].reason == "短信回复TD" and logged[0].object_id == str(customer.id)
    bad = client.post(path, data={"csrf_token": token, "channels": ["fax"]})
    assert bad.status_code == 400 and "请只勾选列出的渠道" in bad.get_data(as_text=True)
    assert (
        client.post(f"/staff/customers/{other.id}/opt-out", data={"csrf_token": token}).status_code
        == 404
    )


def test_personal_data_under_another_key_is_a_plain_503_not_a_500(auth, client, db_session):
    """SECRET_KEY rotated without PII_KEY kept: every request reading a customer was a bare
    500 (cryptography's InvalidTag) while /healthz said ok."""
    import base64
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    customer = factories.customer("HZ01", phone="13812345678")
    db_session.commit()
    customer_id, number = customer.id, customer.external_id
    nonce = os.urandom(12)
    other = AESGCM(AESGCM.generate_key(bit_length=256)).encrypt(nonce, b"13812345678", None)
    db_session.execute(
        text("UPDATE customer SET phone = :v WHERE id = :id"),
        {"v": "v1:" + base64.b64encode(nonce + other).decode(), "id": customer_id},
    )
    db_session.commit()
    db_session.expire_all()
    auth.login("agent")
    page = client.get(f"/staff/customers/{customer_id}")
    assert page.status_code == 503 and "系统密钥（PII_KEY）" in page.get_data(as_text=True)
    _, secret = factories.api_token()
    api = client.get(f"/api/v1/customers/{number}", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "pii_key_mismatch"
