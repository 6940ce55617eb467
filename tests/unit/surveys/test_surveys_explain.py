"""Definition errors in staff's words: which question, which part, what is wrong, which line."""

import pytest
import yaml

from surveys import DefinitionError, load_definition
from surveys.explain import explain, line_of, lines_of
from tests.unit.surveys.survey_samples import sample_data

TEXT = """\
code: tiny
questions:
  - id: overall
    type: rating
    title: 总体而言，您对本次网点服务是否满意？
  - id: wait
    type: single
    title: 您等候了多久？
    options:
      - {value: short, label: 10 分钟以内}
      - {value: long, label: 半小时以上}
"""


def explained(data) -> str:
    with pytest.raises(DefinitionError) as info:
        load_definition(data)
    return explain(info.value, data)


def changed(**questions) -> dict:
    data = sample_data()
    for index, fields in questions.items():
        data["questions"][int(index[1:])].update(fields)
    return data


def test_a_question_is_named_by_its_number_id_and_title():
    data = changed(q3={"options": []})
    assert (
        explained(data) == "第 4 题（channel 您通过哪个渠道办理？）：选项（options）至少需要 2 项"
    )
    data = changed(q5={"items": []})
    assert explained(data) == "第 6 题（aspects 请评价以下方面）：评价项（items）不能为空"


def test_long_titles_are_cut_and_missing_fields_say_so():
    data = changed(
        q0={"title": "总体而言，您对本次在我行网点办理业务的整体服务是否满意？", "type": None}
    )
    assert (
        explained(data) == "第 1 题（csat 总体而言，您对本次在我行网点办理…）：题型（type）未填写"
    )
    del data["questions"][0]["title"]
    data["questions"][0]["type"] = "rating"
    assert explained(data) == "第 1 题（csat）：题目文字（title）未填写"


def test_an_option_is_named_by_its_number_and_label():
    data = sample_data()
    data["questions"][3]["options"][1] = {"valu": "app", "label": "手机银行"}
    assert explained(data) == (
        "第 4 题（channel 您通过哪个渠道办理？）："
        "第 2 个选项（手机银行）中有不支持的字段“valu”（是否应为 value？请检查拼写和缩进）"
    )
    data["questions"][3]["options"][1] = {"value": "app"}
    assert explained(data).endswith("：第 2 个选项的选项文字（label）未填写")


def test_whole_sentences_are_kept_and_survey_fields_named():
    data = changed(q1={"id": "csat"})
    assert explained(data) == "第 2 题（csat 推荐意愿）：题目编号“csat”重复"
    data = sample_data()
    data["code"] = "Sample Survey"
    assert explained(data).startswith("问卷代码（code）只能由小写字母")
    data = sample_data()
    data["colour"] = "red"
    assert explained(data) == "问卷定义中有不支持的字段“colour”（请检查拼写和缩进）"


def test_conditions_say_which_condition():
    data = changed(q4={"show_if": {"any": [{"question": "improve", "op": "answered"}]}})
    assert explained(data) == (
        "第 5 题（improve 哪些方面需要改进？）：显示条件（show_if）的第 1 个条件："
        "条件只能引用前面的题目（“improve”在本题之后或就是本题）"
    )


def test_no_message_shows_a_program_path():
    broken = [
        changed(q3={"options": None}),
        changed(q4={"max_select": 9}),
        changed(q2={"metric": "nps"}),
        changed(q0={"required": "是"}),
    ]
    for data in broken:
        message = explained(data)
        assert "questions[" not in message and "].options" not in message, message
        assert message.startswith("第 "), message


def test_line_of_finds_the_field_or_its_nearest_part():
    data = yaml.safe_load(TEXT)
    assert line_of(TEXT, "questions[1].options[1].label") == 11
    assert line_of(TEXT, "questions[1].title") == 8
    assert line_of(TEXT, "questions[0].options") == 3  # missing: the question's first line
    assert line_of(TEXT, "code") == 1
    assert line_of("code: [", "code") is None
    assert data["questions"][1]["options"][1]["label"] == "半小时以上"


def test_a_field_unknown_to_a_question_is_named_with_the_likely_spelling():
    data = changed(q0={"titel": "满意吗"})
    assert explained(data) == (
        "第 1 题（csat 总体满意度）："
        "本题中有不支持的字段“titel”（是否应为 title？请检查拼写和缩进）"
    )


def test_lines_of_reads_the_text_once_for_many_paths():
    paths = ["questions[1].options[1].label", "code", "questions[0].nope"]
    assert lines_of(TEXT, paths) == [11, 1, 3]
    assert lines_of("code: [", paths) == [None, None, None]
