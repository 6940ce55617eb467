"""Write a definition's data back as YAML, laid out as the shipped templates are.

The form-based designer edits a definition as data (a mapping of the same keys the YAML has);
saving writes it out with this, so what staff see in the YAML view, what is stored and what
the engine reads are one text. Keys come in the templates' order (``id``, ``type``, ``title``
… of a question), options, matrix items and display conditions one per line in flow style
(``- {value: wait, label: 等候时间长}``), text of several lines as a literal block. Keys this
module does not know are kept, after the known ones, so nothing is lost on the way. Reading
the result back (``schema.read_yaml``) gives the same data: a test holds it to that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

TOP_ORDER = ("code", "title", "description", "intro", "thank_you", "anonymous_allowed", "questions")
QUESTION_ORDER = (
    "id",
    "type",
    "metric",
    "title",
    "help",
    "required",
    "show_if",
    "options",
    "min_select",
    "max_select",
    "other_max_length",
    "scale",
    "items",
    "max_length",
)
FLOW_LISTS = ("options", "items")  # each element a one-line mapping
# Inside the one-line mappings, in the templates' order: an option or a matrix item; a condition.
ROW_ORDER = ("value", "id", "label", "other", "exclusive", "follow_up", "no_call")
CONDITION_ORDER = ("question", "item", "op", "value")


class _Flow(dict):
    """A mapping written on one line: ``{value: wait, label: 等候时间长}``."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # List items indented under their key ("questions:\n  - id: …"), as the templates are.
        return super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


def _plain_dict(dumper: yaml.SafeDumper, value: dict) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items())  # (keeps key order)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(_Flow, _flow)
_Dumper.add_representer(dict, _plain_dict)


def _ordered(data: Mapping[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    known = {key: data[key] for key in order if key in data}
    return known | {key: value for key, value in data.items() if key not in known}


def _flow_value(value: Any, order: tuple[str, ...]) -> Any:
    """Conditions and list elements on one line; deeper mappings inside them follow along."""
    if isinstance(value, Mapping):
        return _Flow({k: _flow_value(v, order) for k, v in _ordered(value, order).items()})
    if isinstance(value, list):
        return [_flow_value(v, order) for v in value]
    return value


def _question(data: Any) -> Any:
    if not isinstance(data, Mapping):
        return data  # (written as it is: the engine's message will name it)
    out = _ordered(data, QUESTION_ORDER)
    for key in FLOW_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [
                _flow_value(v, ROW_ORDER) if isinstance(v, Mapping) else v for v in out[key]
            ]
    if isinstance(out.get("show_if"), Mapping):
        out["show_if"] = _flow_value(out["show_if"], CONDITION_ORDER)
    return out


def _yaml(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000, indent=2
    )


def dump_definition(data: Mapping[str, Any]) -> str:
    """YAML text of a definition given as data (not checked here: ``load_definition`` does)."""
    out = _ordered(data, TOP_ORDER)
    questions = out.get("questions")
    if not isinstance(questions, list) or not questions:
        return _yaml(out)
    keys = list(out)
    at = keys.index("questions")
    head = {key: out[key] for key in keys[:at]}
    tail = {key: out[key] for key in keys[at + 1 :]}
    # One question at a time, indented under "questions:" with a blank line between them, as
    # in the templates, so the text reads as a list.
    items = [
        "\n".join(f"  {line}" if line else line for line in _yaml([_question(q)]).splitlines())
        for q in questions
    ]
    parts = [_yaml(head) if head else "", "questions:\n", "\n\n".join(items), "\n"]
    if tail:
        parts.append(_yaml(tail))
    return "".join(parts)
