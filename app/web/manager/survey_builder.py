"""The form-based survey designer's server side: what the page gives the script
(static/js/survey_builder.js), and the two conversions it asks for when staff switch between
the form and the YAML view. Saving goes through the draft form like the YAML view
(``survey_edit``): the form's data is written out as YAML there and checked by the engine."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.models import Role, Survey, SurveyStatus
from app.services import surveys
from app.services.errors import ServiceError
from app.web.access import roles_required
from app.web.manager import bp
from surveys.schema import read_yaml
from surveys.snippets import SNIPPETS


@cache
def question_templates() -> tuple[dict[str, Any], ...]:
    """The "插入题目" snippets as data: the form adds a question of a type as its snippet reads,
    with the same example words the YAML view inserts."""
    found = []
    for snippet in SNIPPETS:
        (question,) = read_yaml(snippet.for_id(snippet.id_base))
        found.append({"label": snippet.label, "hint": snippet.hint, "question": question})
    return tuple(found)


def page_context(
    survey: Survey, *, posted: str | None, problems: tuple[surveys.Problem, ...]
) -> dict[str, Any]:
    """What the designer script starts from. ``posted`` is the form's data as sent with a save
    that was refused (shown again as it was, nothing lost), None for a save from the YAML view,
    and "" when the page is not answering a save."""
    data = None
    if posted:
        try:
            data = json.loads(posted)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            data = None
    if data is None:
        data = surveys.editable_data(survey)
    return {
        "data": data,
        "mode": "form" if posted else ("yaml" if posted is None else ""),
        "code": survey.code,
        "locked": surveys.published_question_ids(survey),
        "locked_codes": surveys.published_codes(survey),
        "problems": [
            {"message": p.message, "question": p.question, "path": p.path} for p in problems
        ],
        "templates": question_templates(),
    }


def _json_error(err: ServiceError) -> ResponseReturnValue:
    body = {"error": {"code": err.code, "message": err.message, "line": getattr(err, "line", None)}}
    return jsonify(body), err.status


def _draft(survey_id: int) -> Survey:
    survey = surveys.get_survey(survey_id)
    survey.require_status(SurveyStatus.DRAFT, action="编辑")
    return survey


@bp.post("/surveys/<int:survey_id>/definition/data")
@roles_required(Role.HQ_MANAGER)
def survey_definition_data(survey_id: int) -> ResponseReturnValue:
    """YAML text → the form's data (switching to the form view)."""
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        message = "请求格式不正确：应为含 text 的 JSON"
        return jsonify({"error": {"code": "bad_request", "message": message}}), 400
    try:
        _draft(survey_id)
        return jsonify({"data": surveys.designer_data(text)})
    except ServiceError as err:
        return _json_error(err)


@bp.post("/surveys/<int:survey_id>/definition/text")
@roles_required(Role.HQ_MANAGER)
def survey_definition_text(survey_id: int) -> ResponseReturnValue:
    """The form's data → YAML text (switching to the YAML view)."""
    try:
        _draft(survey_id)
        return jsonify({"text": surveys.designer_text(request.get_data(as_text=True))})
    except ServiceError as err:
        return _json_error(err)
