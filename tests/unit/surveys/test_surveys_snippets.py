"""The designer's "插入题目" snippets load as inserted: at the end of any template's questions."""

import re
from importlib import resources

import pytest

from surveys import QuestionType, load_definition
from surveys.snippets import ID, SNIPPETS
from surveys.templates import template_codes


def template_yaml(code: str) -> str:
    return resources.files("surveys.templates").joinpath(code + ".yaml").read_text("utf-8")


def appended(text: str, snippet_text: str) -> str:
    """What the designer's script does: the snippet after the last line of ``questions:``."""
    return text.rstrip("\n") + "\n" + snippet_text


def test_there_is_one_snippet_per_question_type():
    assert sorted(s.type for s in SNIPPETS) == sorted(t.value for t in QuestionType)
    assert len({s.id_base for s in SNIPPETS}) == len(SNIPPETS)


@pytest.mark.parametrize("code", template_codes())
@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.type)
def test_every_snippet_validates_appended_to_every_template(code, snippet):
    text = appended(template_yaml(code), snippet.for_id("new_question"))
    defn = load_definition(text)
    added = defn.questions[-1]
    assert added.id == "new_question" and added.type == QuestionType(snippet.type)
    assert added.metric is None  # a template's key questions stay its own


def test_all_snippets_together_validate_and_each_comment_is_a_comment():
    text = template_yaml("branch-service")
    for n, snippet in enumerate(SNIPPETS):
        text = appended(text, snippet.for_id(f"{snippet.id_base}_{n}"))
    defn = load_definition(text)
    assert [q.id for q in defn.questions[-len(SNIPPETS) :]] == [
        f"{s.id_base}_{n}" for n, s in enumerate(SNIPPETS)
    ]
    assert ID not in text


KEYED = [s for s in SNIPPETS if "# metric:" in s.text]


def test_the_three_metric_types_offer_their_key_question_line():
    assert sorted(s.type for s in KEYED) == ["ces", "nps", "rating"]


@pytest.mark.parametrize("snippet", KEYED, ids=lambda s: s.type)
def test_a_commented_out_metric_works_once_switched_on(snippet):
    switched = re.sub(r"^(\s*)# (metric: )", r"\1\2", snippet.text, flags=re.M)
    text = "code: s\ntitle: t\nquestions:\n" + switched.replace(ID, "key")
    assert load_definition(text).questions[0].metric is not None


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.type)
def test_snippets_speak_chinese_and_use_a_fresh_id_placeholder(snippet):
    assert snippet.text.count(f"- id: {ID}\n") == 1
    assert re.search(r"[\u4e00-\u9fff]", snippet.label)
    assert snippet.text.startswith("  # ")  # a comment saying what the question is
