"""Kesheng's pure-Python survey engine: definitions, answers, skip logic, scores, contact."""

from surveys.answers import clean_text
from surveys.conditions import evaluate
from surveys.contact import (
    Channel,
    ContactDecision,
    ContactRules,
    CustomerContactState,
    check_contact,
)
from surveys.errors import DefinitionError
from surveys.forms import answers_from_form, field_name, other_field_name
from surveys.model import (
    Condition,
    ConditionGroup,
    MatrixItem,
    Metric,
    Op,
    Option,
    Question,
    QuestionType,
    SurveyDefinition,
    definition_hash,
    other_key,
)
from surveys.schema import load_definition
from surveys.scoring import (
    Figure,
    MetricReport,
    MetricSums,
    ResponseScores,
    aggregate,
    declines_call,
    is_detractor,
    problem_details,
    reported_problems,
    score_response,
)
from surveys.validation import ValidationResult, next_question, validate, visible_questions

__all__ = [
    "Channel",
    "Condition",
    "ConditionGroup",
    "ContactDecision",
    "ContactRules",
    "CustomerContactState",
    "DefinitionError",
    "Figure",
    "MatrixItem",
    "Metric",
    "MetricReport",
    "MetricSums",
    "Op",
    "Option",
    "Question",
    "QuestionType",
    "ResponseScores",
    "SurveyDefinition",
    "ValidationResult",
    "aggregate",
    "answers_from_form",
    "check_contact",
    "clean_text",
    "declines_call",
    "definition_hash",
    "evaluate",
    "field_name",
    "is_detractor",
    "load_definition",
    "next_question",
    "other_field_name",
    "other_key",
    "problem_details",
    "reported_problems",
    "score_response",
    "validate",
    "visible_questions",
]
