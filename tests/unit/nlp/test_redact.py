"""Tests for personal-data redaction and display masks."""

import pytest

from nlp import mask_card, mask_email, mask_id_number, mask_phone, redact
from nlp.redact import is_valid_card_number, is_valid_id_number, looks_like_id_number

VALID_ID = "11010519491231002X"
INVALID_ID = "110105194912310021"
VALID_CARD = "6222021234567894"
INVALID_CARD = "6222021234567890"


def test_valid_id_number_is_masked():
    r = redact(f"身份证号{VALID_ID}，请核实")
    assert r.text == "身份证号110105********002X，请核实"
    assert r.kinds == ("id_number",)


def test_id_with_a_mistyped_check_character_is_still_masked():
    """JR/T 0171: identity numbers are masked on display. A customer's ID with one wrong digit
    (or a test's 110101199003071234) showed in full: only a valid check character counted."""
    assert not is_valid_id_number(INVALID_ID) and looks_like_id_number(INVALID_ID)
    r = redact(f"身份证号{INVALID_ID}，请核实")
    assert r.text == "身份证号110105********0021，请核实" and r.kinds == ("id_number",)
    assert redact("110101199003071234").text == "110101********1234"
    # the shape: a province code and a real birth date
    assert not looks_like_id_number("990101199003071234")  # no province 99
    assert not looks_like_id_number("110101199002301234")  # 30 February
    assert not looks_like_id_number("110101189912311234")  # born before 1900


def test_card_numbers_are_masked_luhn_valid_or_not():
    """Any 16-19 digits are a card or account number (PIPL: financial account information):
    one typed with a wrong digit fails the Luhn check and showed in full."""
    assert is_valid_card_number(VALID_CARD) and not is_valid_card_number(INVALID_CARD)
    r = redact(f"卡号{VALID_CARD}被冻结")
    assert r.text == "卡号6222********7894被冻结" and r.kinds == ("bank_card",)
    r = redact(f"卡号{INVALID_CARD}，账号6217000010012345678")
    assert r.text == "卡号6222********7890，账号6217***********5678"
    assert r.kinds == ("bank_card",)
    # an 18-digit number that is no ID is masked as an account number
    assert redact("990101199003071234").text == "9901**********1234"


def test_grouped_card_keeps_separators():
    grouped = " ".join([VALID_CARD[i : i + 4] for i in range(0, 16, 4)])
    assert redact(grouped).text == "6222 **** **** 7894"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", "电话138****5678"),
        ("+86 138-1234-5678", "+86 138****5678"),
        ("+8613812345678", "+86 138****5678"),
        ("138 1234 5678", "138****5678"),
    ],
)
def test_mobile_numbers(text, expected):
    r = redact(text)
    assert r.text == expected and r.kinds == ("phone",)


def test_numbers_inside_longer_digit_strings_are_left_alone():
    long_run = "12345678901381234567890"
    assert redact(long_run) == redact(long_run).__class__(long_run, ())
    assert redact("订单号9913812345678").kinds == ()


def test_landline_and_email():
    r = redact("座机010-62345678，邮箱zhang.san@example.com")
    assert r.text == "座机010-****5678，邮箱z***@example.com"
    assert r.kinds == ("email", "landline")
    assert "landline" in redact("（0755）82345678").kinds


def test_empty_text():
    assert redact("").text == "" and redact("").kinds == ()


def test_mask_helpers():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "+86 138****5678"
    assert mask_id_number(VALID_ID) == "110105********002X"
    assert mask_card(VALID_CARD) == "6222********7894"
    assert mask_email("zhang@example.com") == "z***@example.com"


@pytest.mark.parametrize("odd", [None, "", "abc", "1", 12345, "@", "中文", "   ", "+-"])
def test_mask_helpers_never_raise(odd):
    for fn in (mask_phone, mask_id_number, mask_card, mask_email):
        assert isinstance(fn(odd), str)


def test_full_width_numbers_and_addresses_are_masked():
    typed = "手机１３８１２３４５６７８，邮箱ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ，"
    out = redact(typed + "金额２００元。")
    assert out.text == "手机138****5678，邮箱z***@example.com，金额200元。"
    assert out.kinds == ("email", "phone")
    assert redact("没有任何号码，只有标点：（）！").text == "没有任何号码，只有标点：（）！"


def test_first_generation_fifteen_digit_id_numbers_are_masked():
    from nlp.redact import looks_like_old_id_number

    # Beijing Dongcheng (110101), born 1980-03-07, sequence 123
    r = redact("老人身份证是110101800307123，一代证还没换")
    assert r.text == "老人身份证是110101*****7123，一代证还没换" and r.kinds == ("id_number",)
    assert looks_like_old_id_number("440301651231002")
    # not an ID: no such province (99), no 31 February, 16 digits (a card reading), 14 digits
    for number in ("990101800307123", "110101800231123", "1101018003071234", "11010180030712"):
        assert not looks_like_old_id_number(number)
    assert redact("订单号A110101800307123").text == "订单号A110101800307123"  # part of a code
    assert redact("流水号990101800307123").text == "流水号990101800307123"  # left alone
    assert redact("单号1101018002311230").kinds == ("bank_card",)  # 16 digits: a card reading


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0571-8765-4321", "0571-****-4321"),
        ("电话：0571 8765 4321", "电话：0571 **** 4321"),
        ("(0571) 8765-4321", "(0571) ****-4321"),
        ("+86 571 87654321", "+86 571 ****4321"),
        ("+86-10-87654321", "+86-10-****4321"),
        ("0086 571 8765 4321", "0086 571 **** 4321"),
    ],
)
def test_grouped_and_international_landlines(text, expected):
    r = redact(text)
    assert r.text == expected and r.kinds == ("landline",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+86 (138) 1234-5678", "+86 138****5678"),
        ("（138）1234 5678", "138****5678"),
        ("0086-13812345678", "0086 138****5678"),  # was 000086 138****5678
    ],
)
def test_more_mobile_forms(text, expected):
    r = redact(text)
    assert r.text == expected and r.kinds == ("phone",)


def test_full_width_email_without_ascii_digit_or_at_sign():
    r = redact("请发邮件到ｗａｎｇｗｕ＠ｅｘａｍｐｌｅ．ｃｏｍ联系我")
    assert r.text == "请发邮件到w***@example.com联系我" and r.kinds == ("email",)


@pytest.mark.parametrize(
    "text",
    [
        "金额12,345.00元",
        "2024-05-12到账",
        "拨打95588或400-820-8888",
        "订单号0571876543210",
        "转账0.57 8765元",
    ],
)
def test_amounts_dates_hotlines_and_order_numbers_stay(text):
    assert redact(text) == redact(text).__class__(text, ())
