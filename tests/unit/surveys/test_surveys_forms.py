"""Parsing HTML form submissions (werkzeug MultiDict or dict of lists) into answers."""

from surveys import answers_from_form, field_name, other_field_name, validate


class FakeMultiDict:
    """The part of werkzeug's MultiDict that answers_from_form relies on."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    def getlist(self, key):
        return [value for name, value in self.pairs if name == key]

    def get(self, key, default=None):
        values = self.getlist(key)
        return values[0] if values else default


FORM_PAIRS = [
    ("csrf_token", "abc"),
    ("q_csat", "2"),
    ("q_nps", "6"),
    ("q_effort", ""),
    ("q_channel", "other"),
    ("q_channel__other", "电话银行"),
    ("q_improve", "wait"),
    ("q_improve", "other"),
    ("q_improve", ""),
    ("q_improve__other", "停车难"),
    ("q_aspects__speed", "4"),
    ("q_aspects__staff", "1"),
    ("q_why_low", "柜员态度差\r\n等待时间长"),
    ("q_comment", ""),
]


def test_field_names():
    assert field_name("nps") == "q_nps"
    assert field_name("aspects", "speed") == "q_aspects__speed"
    assert other_field_name("channel") == "q_channel__other"


def test_multidict_submission(defn):
    raw = answers_from_form(defn, FakeMultiDict(FORM_PAIRS))
    assert raw == {
        "csat": "2",
        "nps": "6",
        "effort": "",
        "channel": "other",
        "channel__other": "电话银行",
        "improve": ["wait", "other"],
        "improve__other": "停车难",
        "aspects": {"speed": "4", "staff": "1"},
        "why_low": "柜员态度差\r\n等待时间长",
        "comment": "",
    }
    result = validate(defn, raw)
    assert result.ok, result.errors
    assert result.cleaned["why_low"] == "柜员态度差\n等待时间长"
    assert result.cleaned["aspects"] == {"speed": 4, "staff": 1}
    assert "effort" not in result.cleaned


def test_plain_dict_of_lists_gives_the_same_answers(defn):
    as_dict: dict[str, list[str]] = {}
    for name, value in FORM_PAIRS:
        as_dict.setdefault(name, []).append(value)
    assert answers_from_form(defn, as_dict) == answers_from_form(defn, FakeMultiDict(FORM_PAIRS))


def test_plain_dict_of_strings(defn):
    raw = answers_from_form(defn, {"q_csat": "5", "q_improve": "wait"})
    assert raw == {"csat": "5", "improve": ["wait"]}


def test_no_js_page_submitting_hidden_questions(defn):
    # Without JavaScript every question is on the page; the server drops hidden answers.
    happy = {"q_csat": "5", "q_nps": "10", "q_aspects__staff": "4"}
    pairs = [(n, happy.get(n, v)) for n, v in FORM_PAIRS]
    result = validate(defn, answers_from_form(defn, FakeMultiDict(pairs)))
    assert result.ok, result.errors
    assert "improve" not in result.cleaned and "why_low" not in result.cleaned


def test_empty_form(defn):
    assert answers_from_form(defn, FakeMultiDict([])) == {}
    assert answers_from_form(defn, {}) == {}
