"""The library of bank questionnaire templates shipped as YAML files beside this module."""

from __future__ import annotations

from functools import cache
from importlib import resources

from surveys.model import SurveyDefinition
from surveys.schema import load_definition

TEMPLATE_SUFFIX = ".yaml"


@cache
def template_codes() -> tuple[str, ...]:
    """Codes of the shipped templates (the file name without `.yaml`), sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(
        sorted(
            f.name.removesuffix(TEMPLATE_SUFFIX) for f in files if f.name.endswith(TEMPLATE_SUFFIX)
        )
    )


def list_templates() -> tuple[SurveyDefinition, ...]:
    """Every shipped template, loaded and checked, sorted by code."""
    return tuple(load_template(code) for code in template_codes())


@cache
def load_template(code: str) -> SurveyDefinition:
    """The template with this code; raises KeyError for an unknown code."""
    if code not in template_codes():
        raise KeyError(f"unknown survey template: {code!r}")
    text = resources.files(__name__).joinpath(code + TEMPLATE_SUFFIX).read_text(encoding="utf-8")
    return load_definition(text)
