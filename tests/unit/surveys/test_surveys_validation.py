"""Validation of whole submissions: every question type, required/optional, skip logic."""

import unicodedata

import pytest

from surveys import load_definition, next_question, validate, visible_questions
from surveys.answers import MSG_CONTROL, clean_text


def test_full_valid_answer_set(defn, answers):
    result = validate(defn, answers)
    assert result.ok, result.errors
    assert result.cleaned == answers
    assert result.visible == ("csat", "nps", "effort", "channel", "aspects", "comment")


def test_strings_are_normalised(defn):
    raw = {
        "csat": " 5 ",
        "nps": "１０",  # full-width digits, as typed with a Chinese IME
        "effort": 6.0,
        "channel": "branch",
        "aspects": {"speed": "5", "staff": "4", "unknown": "3"},
        "comment": "  \r\n很好\r\n谢谢  ",
        "stray": "dropped",
    }
    result = validate(defn, raw)
    assert result.ok, result.errors
    assert result.cleaned == {
        "csat": 5,
        "nps": 10,
        "effort": 6,
        "channel": "branch",
        "aspects": {"speed": 5, "staff": 4},
        "comment": "很好\n谢谢",
    }


@pytest.mark.parametrize(
    ("qid", "value", "message"),
    [
        ("csat", 0, "请选择 1 到 5 之间的分数"),
        ("csat", 6, "请选择 1 到 5 之间的分数"),
        ("csat", True, "请选择 1 到 5 之间的分数"),
        ("csat", "4.5", "请选择 1 到 5 之间的分数"),
        ("csat", 4.5, "请选择 1 到 5 之间的分数"),
        ("csat", "4_0", "请选择 1 到 5 之间的分数"),
        ("nps", -1, "请选择 0 到 10 之间的分数"),
        ("nps", 11, "请选择 0 到 10 之间的分数"),
        ("nps", float("nan"), "请选择 0 到 10 之间的分数"),
        ("effort", 8, "请选择 1 到 7 之间的分数"),
        ("effort", [3], "请选择 1 到 7 之间的分数"),
        ("channel", "fax", "请选择有效的选项"),
        ("channel", ["app"], "请只选择一个选项"),
        ("channel", {"a": 1}, "请选择有效的选项"),
        ("aspects", {"speed": 9, "staff": 1}, "“速度”：请选择 1 到 5 之间的分数"),
        ("aspects", {"speed": 3}, "请为每一项作答，尚未作答：员工"),
        ("aspects", [1, 2], "答案格式无效"),
        ("comment", 123, "请填写文字"),
    ],
)
def test_invalid_values(defn, answers, qid, value, message):
    answers[qid] = value
    result = validate(defn, answers)
    assert not result.ok
    assert result.errors == {qid: message}
    assert qid not in result.cleaned


def test_nps_zero_is_an_answer(defn, answers):
    answers["nps"] = 0
    answers["why_low"] = "等太久"
    result = validate(defn, answers)
    assert result.ok
    assert result.cleaned["nps"] == 0


@pytest.mark.parametrize("blank", [None, "", "   ", [], {}])
def test_required_questions(defn, answers, blank):
    answers["csat"] = blank
    assert validate(defn, answers).errors == {"csat": "此题为必答题"}


def test_optional_questions_may_be_blank(defn, answers):
    answers["effort"] = ""
    answers["comment"] = "   "
    result = validate(defn, answers)
    assert result.ok
    assert "effort" not in result.cleaned and "comment" not in result.cleaned


def test_empty_submission_lists_every_visible_required_question(defn):
    result = validate(defn, {})
    assert set(result.errors) == {"csat", "nps", "channel", "aspects"}


def test_skip_logic_hides_and_drops_stray_values(defn, answers):
    answers["improve"] = ["wait"]
    answers["why_low"] = "不应保留"
    result = validate(defn, answers)
    assert result.ok
    assert "improve" not in result.cleaned and "why_low" not in result.cleaned
    assert "improve" not in result.visible


def test_hidden_required_question_is_not_required(defn, answers):
    # improve and why_low are required, but hidden for a happy customer
    result = validate(defn, answers)
    assert result.ok
    assert "improve" not in result.errors and "why_low" not in result.errors


def test_skip_logic_shows_follow_up_when_low(defn, answers):
    answers["csat"] = 2
    result = validate(defn, answers)
    assert result.errors == {"improve": "此题为必答题"}
    answers["improve"] = ["fees", "wait"]
    result = validate(defn, answers)
    assert result.ok
    assert result.cleaned["improve"] == ["wait", "fees"]  # option order, not click order


def test_any_group_and_matrix_item_condition(defn, answers):
    answers["aspects"] = {"speed": 5, "staff": 1}
    assert validate(defn, answers).errors == {"why_low": "此题为必答题"}
    answers["why_low"] = "柜员态度差"
    assert validate(defn, answers).ok


def test_invalid_earlier_answer_counts_as_unanswered_for_conditions(defn, answers):
    answers["csat"] = 99
    answers["improve"] = ["wait"]
    result = validate(defn, answers)
    assert result.errors == {"csat": "请选择 1 到 5 之间的分数"}
    assert "improve" not in result.visible


@pytest.mark.parametrize(
    ("chosen", "error"),
    [
        (["wait", "attitude", "skill", "fees"], "请选择 1 到 3 项"),
        (["wait", "bogus"], "请选择有效的选项"),
    ],
)
def test_multiple_choice_bounds(defn, answers, chosen, error):
    answers["csat"] = 1
    answers["improve"] = chosen
    assert validate(defn, answers).errors == {"improve": error}


def test_multiple_choice_min_max_messages():
    def defn_with(**bounds):
        options = [{"value": v, "label": v} for v in "abcd"]
        question = {"id": "m", "type": "multiple", "title": "多选", "options": options, **bounds}
        return load_definition({"code": "m", "title": "t", "questions": [question]})

    assert validate(defn_with(min_select=2), {"m": ["a"]}).errors == {"m": "请至少选择 2 项"}
    assert validate(defn_with(max_select=2), {"m": list("abc")}).errors == {"m": "最多选择 2 项"}
    assert validate(defn_with(min_select=2, max_select=2), {"m": ["a"]}).errors == {
        "m": "请选择 2 项"
    }
    result = validate(defn_with(), {"m": ["d", "a", "a", ""]})
    assert result.cleaned == {"m": ["a", "d"]}
    assert validate(defn_with(), {"m": "b"}).cleaned == {"m": ["b"]}


def test_exclusive_option_cannot_be_combined():
    options = [
        {"value": "slow", "label": "速度慢"},
        {"value": "none", "label": "没有问题", "exclusive": True},
    ]
    question = {"id": "m", "type": "multiple", "title": "遇到的问题", "options": options}
    defn = load_definition({"code": "m", "title": "t", "questions": [question]})
    assert validate(defn, {"m": ["none"]}).ok
    assert validate(defn, {"m": ["none", "slow"]}).errors == {
        "m": "“没有问题”不能与其他选项同时选择"
    }


def test_other_please_specify_single(defn, answers):
    answers["channel"] = "other"
    assert validate(defn, answers).errors == {"channel": "请填写“其他”的具体内容"}
    answers["channel__other"] = "  电话银行 "
    result = validate(defn, answers)
    assert result.ok
    assert result.cleaned["channel"] == "other"
    assert result.cleaned["channel__other"] == "电话银行"


def test_other_text_is_dropped_when_other_not_chosen(defn, answers):
    answers["channel__other"] = "无关"
    assert "channel__other" not in validate(defn, answers).cleaned


def test_other_please_specify_multiple(defn, answers):
    answers["csat"] = 3
    answers["improve"] = ["other", "wait"]
    assert validate(defn, answers).errors == {"improve": "请填写“其他”的具体内容"}
    answers["improve__other"] = "x" * 201
    assert validate(defn, answers).errors == {"improve": "“其他”：最多 200 字（当前 201 字）"}
    answers["improve__other"] = "停车位不足"
    result = validate(defn, answers)
    assert result.cleaned["improve"] == ["wait", "other"]
    assert result.cleaned["improve__other"] == "停车位不足"


def test_text_max_length_counts_characters(defn, answers):
    answers["nps"] = 3
    answers["why_low"] = "慢" * 20
    assert validate(defn, answers).ok
    answers["why_low"] = "慢" * 21
    assert validate(defn, answers).errors == {"why_low": "最多 20 字（当前 21 字）"}


def test_default_text_max_length_is_500(defn, answers):
    answers["comment"] = "好" * 500
    assert validate(defn, answers).ok
    answers["comment"] = "好" * 501
    assert validate(defn, answers).errors["comment"].startswith("最多 500 字")


@pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\x1bb", "a\x85b", "a\ud800b"])
def test_text_rejects_nul_and_control_characters(defn, answers, bad):
    answers["comment"] = bad
    assert validate(defn, answers).errors == {
        "comment": "内容含有无法识别的控制字符，请删除后再提交"
    }


def test_text_refuses_exactly_the_control_and_surrogate_characters():
    """Every code point: refused iff it is a control (Cc) or a lone surrogate (Cs), newline and
    tab excepted; emoji, rare characters and zero-width or direction marks are kept."""
    refused = [c for c in range(0x110000) if clean_text(f"a{chr(c)}b", 10)[1] == MSG_CONTROL]
    expected = [
        c
        for c in range(0x110000)
        if unicodedata.category(chr(c)) in ("Cc", "Cs") and chr(c) not in "\n\t\r"
    ]
    assert refused == expected  # (CR is kept: it becomes a newline)
    assert clean_text("𠮷😀\u200b\u200f\u202e", 10) == ("𠮷😀\u200b\u200f\u202e", None)


def test_a_text_of_zero_width_characters_and_spaces_alone_is_no_answer():
    """As the browser reads it (survey.js): a comment of "\u200b\u200b" was stored, analysed
    and counted as a comment; a zero-width joiner inside an emoji stays."""
    assert clean_text("\u200b \u200b\ufeff\u3000", 10) == (None, None)
    assert clean_text(" \u200b好\u200b ", 10) == ("\u200b好\u200b", None)
    family = "👨\u200d👩\u200d👧"
    assert clean_text(family, 10) == (family, None)


def test_text_keeps_newlines_and_tabs(defn, answers):
    answers["comment"] = "第一行\n\t第二行"
    assert validate(defn, answers).cleaned["comment"] == "第一行\n\t第二行"


def test_optional_matrix_accepts_partial_answers():
    defn = load_definition(
        {
            "code": "m",
            "title": "t",
            "questions": [
                {
                    "id": "grid",
                    "type": "matrix",
                    "scale": "ces",
                    "required": False,
                    "title": "评价",
                    "items": [{"id": "a", "label": "甲"}, {"id": "b", "label": "乙"}],
                }
            ],
        }
    )
    assert validate(defn, {"grid": {"a": 7}}).cleaned == {"grid": {"a": 7}}
    assert validate(defn, {"grid": {"a": 8}}).errors == {"grid": "“甲”：请选择 1 到 7 之间的分数"}
    assert validate(defn, {"grid": {"a": "", "b": None}}).cleaned == {}


def test_non_mapping_answers_raise_type_error(defn):
    with pytest.raises(TypeError):
        validate(defn, [("csat", 5)])


def test_visible_questions_follow_answers(defn):
    ids = [q.id for q in visible_questions(defn, {})]
    assert "improve" not in ids and "why_low" not in ids
    ids = [q.id for q in visible_questions(defn, {"csat": "2", "nps": "6"})]
    assert "improve" in ids and "why_low" in ids


def test_next_question_walks_the_survey(defn, answers):
    assert next_question(defn, {}).id == "csat"
    assert next_question(defn, {"csat": 2, "nps": 9}).id == "effort"
    assert next_question(defn, {"csat": 2, "nps": 9, "effort": None}).id == "channel"
    assert next_question(defn, {"csat": 9}).id == "csat"
    assert next_question(defn, answers) is None
