"""Shared fixtures for the survey engine tests; makes the repository root importable."""

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from survey_samples import FULL_ANSWERS, sample_data  # noqa: E402

from surveys import SurveyDefinition, load_definition  # noqa: E402


@pytest.fixture
def defn() -> SurveyDefinition:
    return load_definition(sample_data())


@pytest.fixture
def answers() -> dict[str, Any]:
    return copy.deepcopy(FULL_ANSWERS)
