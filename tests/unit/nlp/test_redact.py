"""Tests for personal-data redaction and display masks."""

import pytest

from nlp import mask_card, mask_email, mask_id_number, mask_phone, redact
from nlp.redact import is_valid_card_number, is_valid_id_number

VALID_ID = "11010519491231002X"
INVALID_ID = "110105194912310021"
VALID_CARD = "6222021234567894"
INVALID_CARD = "6222021234567890"


def test_valid_id_number_is_masked():
    r = redact(f"身份证号{VALID_ID}，请核实")
    assert r.text == "身份证号110105********002X，请核实"
    assert r.kinds == ("id_number",)


def test_id_with_wrong_check_digit_is_not_an_id():
    assert not is_valid_id_number(INVALID_ID)
    assert "id_number" not in redact(f"号码{INVALID_ID}").kinds


def test_luhn_valid_card_is_masked_and_invalid_is_not():
    assert is_valid_card_number(VALID_CARD) and not is_valid_card_number(INVALID_CARD)
    r = redact(f"卡号{VALID_CARD}被冻结")
    assert r.text == "卡号6222********7894被冻结" and r.kinds == ("bank_card",)
    assert redact(f"卡号{INVALID_CARD}").kinds == ()


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
