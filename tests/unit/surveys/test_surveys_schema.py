"""Schema check of survey definitions: field paths in errors, round trips, hashes."""

import json

import pytest

from surveys import (
    Condition,
    ConditionGroup,
    DefinitionError,
    Metric,
    Op,
    QuestionType,
    definition_hash,
    load_definition,
)
from tests.unit.surveys.survey_samples import sample_data


def error_of(data) -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        load_definition(data)
    return info.value


def test_sample_loads_into_frozen_dataclasses(defn):
    assert defn.code == "sample"
    assert [q.type for q in defn.questions][:3] == [
        QuestionType.RATING,
        QuestionType.NPS,
        QuestionType.CES,
    ]
    assert defn.key_question(Metric.NPS).id == "nps"
    assert defn.key_question("ces").id == "effort"
    assert defn.question("improve").show_if == Condition("csat", Op.LTE, 3)
    assert isinstance(defn.question("why_low").show_if, ConditionGroup)
    with pytest.raises(AttributeError):
        defn.code = "x"


def test_round_trip_through_json(defn):
    text = json.dumps(defn.to_dict(), ensure_ascii=False)
    again = load_definition(text)
    assert again == defn
    assert definition_hash(again) == definition_hash(defn)


def test_yaml_text_loads():
    defn = load_definition(
        """
code: tiny
title: 小问卷
questions:
  - {id: q1, type: rating, title: 满意吗？}
"""
    )
    assert defn.questions[0].required is True
    assert defn.questions[0].scale_points()[0] == (1, "非常不满意")


def test_hash_changes_with_content(defn):
    data = sample_data()
    data["questions"][0]["title"] = "总体满意度（修改）"
    assert definition_hash(load_definition(data)) != definition_hash(defn)


def test_scale_labels():
    defn = load_definition(
        {
            "code": "s",
            "title": "t",
            "questions": [
                {"id": "n", "type": "nps", "title": "推荐"},
                {"id": "c", "type": "ces", "title": "轻松"},
            ],
        }
    )
    nps_points = dict(defn.questions[0].scale_points())
    assert nps_points[0] == "完全不可能" and nps_points[10] == "非常愿意"
    assert len(nps_points) == 11
    ces_points = dict(defn.questions[1].scale_points())
    assert ces_points[1] == "非常不同意" and ces_points[7] == "非常同意"


def test_missing_option_value_names_the_path():
    data = sample_data()
    del data["questions"][3]["options"][1]["value"]
    err = error_of(data)
    assert err.path == "questions[3].options[1].value"
    assert str(err) == "questions[3].options[1].value: 必填"


def test_condition_on_later_question_is_rejected():
    data = sample_data()
    data["questions"][1]["show_if"] = {"question": "channel", "op": "eq", "value": "app"}
    err = error_of(data)
    assert err.path == "questions[1].show_if.question"
    assert "前面的题目" in err.message


def test_condition_on_itself_is_rejected():
    data = sample_data()
    data["questions"][1]["show_if"] = {"question": "nps", "op": "answered"}
    assert error_of(data).path == "questions[1].show_if.question"


def test_nested_condition_path():
    data = sample_data()
    data["questions"][6]["show_if"]["any"][1]["item"] = "nope"
    assert error_of(data).path == "questions[6].show_if.any[1].item"


def test_condition_groups_nest_at_most_five_deep_with_at_most_fifty_conditions():
    data = sample_data()
    leaf = {"question": "nps", "op": "answered"}
    node = leaf
    for _ in range(5):
        node = {"all": [node]}
    data["questions"][6]["show_if"] = node
    load_definition(data)  # five levels: fine
    data["questions"][6]["show_if"] = {"any": [node]}
    err = error_of(data)
    assert err.path == "questions[6].show_if.any[0].all[0].all[0].all[0].all[0]"
    assert err.message == "all/any 最多嵌套 5 层"
    data["questions"][6]["show_if"] = {"any": [leaf] * 51}
    assert error_of(data).message == "最多 50 个条件"


def test_yaml_text_with_aliases_or_too_deep_nesting_is_refused_not_crashed():
    """A few nested aliases expand to millions of conditions (a save tied up a worker);
    3,000 nested brackets raised RecursionError, a 500."""
    err = error_of("code: x\ntitle: t\nquestions: &q []\nagain: *q\n")
    assert err.message == "第 4 行：不支持 YAML 别名（*），请把内容写完整"
    err = error_of("code: x\nquestions: " + "[" * 3000 + "]" * 3000)
    assert err.message == "嵌套层级过深，无法读取：请检查括号和缩进"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.pop("code"), "code"),
        (lambda d: d.update(code="Bad Code"), "code"),
        (lambda d: d.pop("title"), "title"),
        (lambda d: d.update(questions=[]), "questions"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["questions"][0].update(type="slider"), "questions[0].type"),
        (lambda d: d["questions"][0].update(requried=True), "questions[0].requried"),
        (lambda d: d["questions"][0].update(options=[]), "questions[0].options"),
        (lambda d: d["questions"][1].update(id="csat"), "questions[1].id"),
        (lambda d: d["questions"][1].update(id="a__b"), "questions[1].id"),
        (lambda d: d["questions"][1].update(metric="csat"), "questions[1].metric"),
        (lambda d: d["questions"][0].update(required="yes"), "questions[0].required"),
        (
            lambda d: d["questions"][3].update(options=[{"value": "x", "label": "X"}]),
            "questions[3].options",
        ),
        (
            lambda d: d["questions"][3]["options"][1].update(value="branch"),
            "questions[3].options[1].value",
        ),
        (
            lambda d: d["questions"][3]["options"][0].update(other=True),
            "questions[3].options[2].other",
        ),
        (lambda d: d["questions"][4].update(min_select=4, max_select=2), "questions[4].max_select"),
        (lambda d: d["questions"][4].update(max_select=9), "questions[4].max_select"),
        (
            lambda d: d["questions"][3]["options"][0].update(exclusive=True),
            "questions[3].options[0].exclusive",
        ),
        (
            lambda d: d["questions"][3]["options"][0].update(follow_up="yes"),
            "questions[3].options[0].follow_up",
        ),
        (lambda d: d["questions"][5].update(items=[]), "questions[5].items"),
        (lambda d: d["questions"][5].update(scale="stars"), "questions[5].scale"),
        (lambda d: d["questions"][7].update(max_length=0), "questions[7].max_length"),
        (lambda d: d["questions"][4]["show_if"].update(op="like"), "questions[4].show_if.op"),
        (lambda d: d["questions"][4]["show_if"].update(value=11), "questions[4].show_if.value"),
        (
            lambda d: d["questions"][4]["show_if"].update(question="zzz"),
            "questions[4].show_if.question",
        ),
    ],
)
def test_schema_errors_name_the_field(mutate, path):
    data = sample_data()
    mutate(data)
    assert error_of(data).path == path


def test_condition_value_checks():
    data = sample_data()
    data["questions"][7]["show_if"] = {"question": "channel", "op": "in", "value": ["app", "fax"]}
    assert error_of(data).path == "questions[7].show_if.value[1]"
    data["questions"][7]["show_if"] = {"question": "channel", "op": "gt", "value": 1}
    assert error_of(data).path == "questions[7].show_if.op"
    data["questions"][7]["show_if"] = {"question": "why_low", "op": "eq", "value": "x"}
    assert error_of(data).path == "questions[7].show_if.op"
    data["questions"][7]["show_if"] = {"question": "aspects", "op": "lte", "value": 2}
    assert error_of(data).path == "questions[7].show_if.item"
    data["questions"][7]["show_if"] = {"all": [], "any": []}
    assert error_of(data).path == "questions[7].show_if"


def test_bad_yaml_text():
    err = error_of("code: [unclosed")
    assert "格式错误" in err.message
    assert error_of("- just\n- a list").message.startswith("必须是对象")


def paths_of(data) -> list[str]:
    return [err.path for err in error_of(data).errors]


def test_every_faulty_question_is_reported_in_one_pass():
    data = sample_data()
    data["questions"][3]["type"] = "singel"  # a misspelt type ...
    data["questions"][7]["type"] = "txt"  # ... and a second one, further down
    data["questions"][5]["items"][1]["label"] = ""
    assert paths_of(data) == [
        "questions[3].type",
        "questions[5].items[1].label",
        "questions[7].type",
    ]
    err = error_of(data)
    assert (err.path, err.message) == ("questions[3].type", err.errors[0].message)
    assert "是否应为 single" in err.message


def test_several_faults_of_one_question_and_of_the_survey_are_all_reported():
    data = sample_data()
    del data["code"]
    data["colour"] = "red"
    data["questions"][3].update(titel="渠道", required="yes")
    data["questions"][3]["options"][0]["value"] = "Bad Value"
    assert paths_of(data) == [
        "colour",
        "code",
        "questions[3].required",
        "questions[3].titel",
        "questions[3].options[0].value",
    ]


def test_a_condition_on_a_faulty_question_waits_until_that_question_is_mended():
    data = sample_data()
    data["questions"][0]["type"] = "stars"  # improve's show_if compares csat <= 3
    assert paths_of(data) == ["questions[0].type"]
    data["questions"][0]["type"] = "rating"
    data["questions"][4]["show_if"]["value"] = 9
    assert paths_of(data) == ["questions[4].show_if.value"]


def test_repeated_ids_are_reported_even_when_the_first_question_is_faulty():
    data = sample_data()
    data["questions"][0]["title"] = ""
    data["questions"][2]["id"] = "csat"
    assert paths_of(data) == ["questions[0].title", "questions[2].id"]


def test_all_conditions_of_a_group_are_checked():
    data = sample_data()
    data["questions"][6]["show_if"]["any"][0]["op"] = "like"
    data["questions"][6]["show_if"]["any"][1]["item"] = "nope"
    assert paths_of(data) == [
        "questions[6].show_if.any[0].op",
        "questions[6].show_if.any[1].item",
    ]


def test_a_single_fault_is_a_plain_definition_error():
    data = sample_data()
    data["questions"][0]["required"] = "yes"
    err = error_of(data)
    assert type(err) is DefinitionError and err.errors == (err,)


def test_a_second_key_metric_and_an_id_not_starting_with_a_letter_say_what_to_do():
    data = sample_data()
    first = next(q for q in data["questions"] if q.get("metric") == "csat")
    data["questions"].append(
        {"id": "again", "type": "rating", "title": "再评一次", "metric": "csat"}
    )
    err = error_of(data)
    assert err.path == f"questions[{len(data['questions']) - 1}].metric"
    assert err.message == (
        f"满意度（CSAT）关键指标已由“{first['id']}”设定，每种指标每份问卷只能有一道，"
        "请取消本题的关键指标（metric）"
    )
    # named at once even when the questions have other faults to mend too
    data["questions"][-1]["title"] = ""
    first["title"] = ""
    paths = {e.path: e.message for e in error_of(data).errors}
    assert paths[f"questions[{len(data['questions']) - 1}].metric"].startswith(
        f"满意度（CSAT）关键指标已由“{first['id']}”设定"
    )
    assert len(paths) == 3  # the two missing titles and the second key metric
    data = sample_data()
    data["questions"][0]["id"] = "1abc"
    assert "以小写字母开头" in error_of(data).message
    data = sample_data()
    data["questions"][3]["options"][0]["value"] = "-x"  # (codes may start with a digit)
    assert "以小写字母或数字开头" in error_of(data).message


def test_selection_bounds_are_judged_while_an_option_has_a_fault_too():
    data = sample_data()
    data["questions"].append(
        {
            "id": "many",
            "type": "multiple",
            "title": "选几项",
            "options": [
                {"value": "a", "label": "甲"},
                {"value": "b"},
                {"value": "c", "label": "丙"},
            ],
            "min_select": 3,
            "max_select": 2,
        }
    )
    at = f"questions[{len(data['questions']) - 1}]"
    paths = {e.path: e.message for e in error_of(data).errors}
    assert set(paths) == {f"{at}.options[1].label", f"{at}.max_select"}
    assert paths[f"{at}.max_select"] == "不能小于 min_select"
    data["questions"][-1]["max_select"] = 4  # more than the three options written
    paths = {e.path for e in error_of(data).errors}
    assert paths == {f"{at}.options[1].label", f"{at}.max_select"}


def test_yaml_reads_dates_as_text_and_refuses_types_json_cannot_carry():
    """PyYAML's safe loader read "intro: 2026-02-28" as a date (refused as not text) and
    "2026-02-30" crashed the page (ValueError); .inf was a float the designer's JSON could not
    carry, !!binary bytes. Dates stay text, .inf the text it was, the rest is refused."""
    from surveys.schema import YamlRefused, read_yaml

    assert read_yaml("intro: 2026-02-30\nb: 2026-02-28 25:00:00\nc: .inf\nd: 1.5") == {
        "intro": "2026-02-30",
        "b": "2026-02-28 25:00:00",
        "c": ".inf",
        "d": 1.5,
    }
    for text in ("a: !!binary aGVsbG8=", "a: !!set {x}", "a: !!omap [b: 1]"):
        with pytest.raises(YamlRefused, match="第 1 行：不支持 YAML"):
            read_yaml(text)
    json.dumps(read_yaml("a: !!float .nan\nb: !!timestamp 2026-01-01"))  # (JSON-shaped)
