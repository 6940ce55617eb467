"""Shared fixtures for the survey engine tests."""

import copy
from typing import Any

import pytest

from surveys import SurveyDefinition, load_definition
from tests.unit.surveys.survey_samples import FULL_ANSWERS, sample_data


@pytest.fixture
def defn() -> SurveyDefinition:
    return load_definition(sample_data())


@pytest.fixture
def answers() -> dict[str, Any]:
    return copy.deepcopy(FULL_ANSWERS)
