"""The form-based designer's data written back as YAML: the same data when read again, laid
out as the shipped templates are (what staff then see in the YAML view)."""

from importlib import resources

import pytest

from surveys import load_definition
from surveys.schema import read_yaml
from surveys.templates import template_codes
from surveys.yaml_out import dump_definition


def template_data(code: str) -> dict:
    text = resources.files("surveys.templates").joinpath(code + ".yaml").read_text("utf-8")
    return read_yaml(text)


@pytest.mark.parametrize("code", template_codes())
def test_every_template_reads_back_as_the_same_data_and_definition(code):
    data = template_data(code)
    text = dump_definition(data)
    assert read_yaml(text) == data
    assert load_definition(text) == load_definition(data)


def test_keys_come_in_the_templates_order_whatever_order_the_data_has():
    # (the page's JSON arrives with its keys sorted)
    data = {
        "questions": [
            {
                "type": "single",
                "title": "办理的业务？",
                "options": [
                    {"label": "存取款", "value": "deposit"},
                    {"value": "x", "label": "其他", "other": True},
                ],
                "id": "biz",
            },
            {
                "title": "为什么？",
                "type": "text",
                "id": "why",
                "required": False,
                "show_if": {"value": "x", "op": "eq", "question": "biz"},
            },
        ],
        "intro": "您好",
        "code": "order-test",
    }
    assert dump_definition(data) == (
        "code: order-test\n"
        "intro: 您好\n"
        "questions:\n"
        "  - id: biz\n"
        "    type: single\n"
        "    title: 办理的业务？\n"
        "    options:\n"
        "      - {value: deposit, label: 存取款}\n"
        "      - {value: x, label: 其他, other: true}\n"
        "\n"
        "  - id: why\n"
        "    type: text\n"
        "    title: 为什么？\n"
        "    required: false\n"
        "    show_if: {question: biz, op: eq, value: x}\n"
    )


@pytest.mark.parametrize(
    "value",
    [
        "yes",  # YAML 1.1 reads it as true unless quoted
        "no",
        "on",
        "123",
        "1.5",
        "null",
        "~",
        "#不是注释",
        "- 不是列表",
        "a: b",
        "{不是映射}",
        "含 '引号' 和 \"双引号\"",
        "两行\n文字",
        "末尾空格 ",
        "\n开头空行",
        "  缩进的行\n- id: 像一道题\n\n  还有空行",
        "\t制表符",
        "😀 表情",
        "",
    ],
)
def test_awkward_text_reads_back_unchanged(value):
    data = {
        "code": "awkward",
        "intro": value,
        "questions": [
            {
                "id": "q",
                "type": "single",
                "title": value or "标题",
                "help": value,
                "options": [
                    {"value": "yes", "label": value or "是"},
                    {"value": "no", "label": "否"},
                ],
                "show_if": {"any": [{"question": "p", "op": "in", "value": ["yes", "no"]}]},
            }
        ],
    }
    assert read_yaml(dump_definition(data)) == data


def test_keys_it_does_not_know_are_kept_after_the_known_ones():
    data = {
        "vendor_note": "保留",
        "code": "extra",
        "questions": [{"id": "q", "type": "text", "title": "建议", "x_flag": [1, {"a": 2}]}],
    }
    text = dump_definition(data)
    assert read_yaml(text) == data
    assert text.index("code:") < text.index("questions:") < text.index("vendor_note:")


def test_data_without_questions_is_written_as_it_is():
    assert read_yaml(dump_definition({"code": "empty"})) == {"code": "empty"}
    assert read_yaml(dump_definition({"code": "e", "questions": []})) == {
        "code": "e",
        "questions": [],
    }
