"""Survey management: create from a template, edit a draft, publish (freezes a version), clone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from sqlalchemy import func, select

from app.extensions import db
from app.models import Survey, SurveyStatus, SurveyVersion, User, utcnow
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.tx import get_or_raise, transactional
from surveys import DefinitionError, SurveyDefinition, definition_hash, load_definition
from surveys.templates import load_template, template_codes

CODE_MAX = 40


def template_choices() -> list[tuple[str, str]]:
    """(code, title) of every shipped template."""
    return [(code, load_template(code).title) for code in template_codes()]


def template_text(code: str) -> str:
    """The template's YAML exactly as shipped (comments included)."""
    if code not in template_codes():
        raise ValidationFailed("未知的问卷模板", field="template")
    return resources.files("surveys.templates").joinpath(code + ".yaml").read_text("utf-8")


@lru_cache(maxsize=256)
def _parse_frozen(canonical: str) -> SurveyDefinition:
    return load_definition(json.loads(canonical))


def definition_of(version: SurveyVersion) -> SurveyDefinition:
    """The engine's definition of a frozen version (parsed once per process)."""
    return _parse_frozen(json.dumps(version.definition, sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class FrozenVersion:
    """What taking an answer needs of a published version, kept per process."""

    id: int
    survey_id: int
    definition: SurveyDefinition
    thank_you: str | None


_frozen: dict[tuple[int, str], FrozenVersion] = {}


def cached_version(version_id: int, content_hash: str) -> FrozenVersion | None:
    """The published version if this process has it already (no database read)."""
    return _frozen.get((version_id, content_hash))


def frozen_version(version_id: int, content_hash: str) -> FrozenVersion:
    """The published version, read from the database once per process.

    Keyed by id *and* content hash: a published version never changes, and a different
    database (tests, a restored copy) with the same id but other content is not confused.
    """
    key = (version_id, content_hash)
    found = _frozen.get(key)
    if found is None:
        version = db.session.get(SurveyVersion, version_id)
        if version is None:
            raise NotFound("问卷版本不存在")
        found = FrozenVersion(
            version.id,
            version.survey_id,
            definition_of(version),
            version.definition.get("thank_you"),
        )
        if len(_frozen) > 512:
            _frozen.clear()
        _frozen[key] = found
    return found


def parse_draft(text: str) -> SurveyDefinition:
    """Check a draft's YAML; the engine's faulty-field path is kept in the Chinese message."""
    try:
        return load_definition(text or "")
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"（第 {mark.line + 1} 行）" if mark else ""
        raise ValidationFailed(
            f"YAML 格式错误{where}，请检查缩进和冒号", field="definition"
        ) from err
    except DefinitionError as err:
        where = f"字段 {err.path}：" if err.path else ""
        raise ValidationFailed(f"问卷定义有误：{where}{err.message}", field="definition") from err


def list_surveys(status: str | None = None) -> list[Survey]:
    stmt = select(Survey).order_by(Survey.code)
    if status:
        stmt = stmt.where(Survey.status == status)
    return list(db.session.scalars(stmt))


def get_survey(survey_id: int) -> Survey:
    return get_or_raise(Survey, survey_id, "问卷不存在")


def survey_by_code(code: str) -> Survey:
    survey = db.session.scalar(select(Survey).where(Survey.code == code))
    if survey is None:
        raise NotFound(f"问卷 {code} 不存在", field="survey_code")
    return survey


def published_version(code: str) -> SurveyVersion:
    """The version new invitations of this survey use; the survey must be published."""
    survey = survey_by_code(code)
    # A survey being revised (draft again) keeps serving its last published version.
    if survey.status == SurveyStatus.CLOSED or survey.latest_version is None:
        raise Conflict(f"问卷 {code} 未发布或已关闭", field="survey_code")
    return survey.latest_version


def _check_code(code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > CODE_MAX:
        raise ValidationFailed("请填写问卷代码（不超过 40 个字符）", field="code")
    if db.session.scalar(select(func.count(Survey.id)).where(Survey.code == code)):
        raise ValidationFailed(f"问卷代码 {code} 已被使用", field="code")
    return code


def _with_code(text: str, code: str) -> str:
    """The draft text with its top-level ``code:`` line set to ``code``."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("code:"):
            lines[i] = f"code: {code}"
            return "\n".join(lines) + "\n"
    return f"code: {code}\n" + text


def create_survey_row(template: str, *, code: str | None = None, actor: User | None) -> Survey:
    text = template_text(template)
    code = _check_code(code or template)
    defn = parse_draft(_with_code(text, code))
    survey = Survey(
        code=code,
        title=defn.title,
        description=defn.description,
        draft_text=_with_code(text, code),
        template_code=template,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(survey)
    db.session.flush()
    return survey


@transactional
def create_from_template(template: str, *, code: str | None = None, actor: User | None) -> Survey:
    """A new draft survey holding a copy of the template; the code must be unused."""
    return create_survey_row(template, code=code, actor=actor)


@transactional
def update_draft(survey_id: int, *, title: str, description: str, text: str) -> Survey:
    """Save a draft's title, description and definition; the definition must pass the schema."""
    survey = get_survey(survey_id)
    survey.require_status(SurveyStatus.DRAFT, action="编辑")
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("请填写问卷标题", field="title")
    defn = parse_draft(text)
    if defn.code != survey.code:
        raise ValidationFailed(f"问卷代码不可修改，应为 {survey.code}", field="definition")
    survey.title = title[:200]
    survey.description = (description or "").strip()
    survey.draft_text = text.replace("\r\n", "\n")
    return survey


def publish_row(survey: Survey, *, actor: User | None) -> SurveyVersion:
    defn = parse_draft(survey.draft_text)
    data = defn.to_dict()
    data["title"] = survey.title
    if survey.description:
        data["description"] = survey.description
    defn = load_definition(data)
    version = SurveyVersion(
        survey=survey,
        number=len(survey.versions) + 1,
        definition=defn.to_dict(),
        definition_hash=definition_hash(defn),
        published_by_id=actor.id if actor else None,
    )
    db.session.add(version)
    survey.status = SurveyStatus.PUBLISHED
    db.session.flush()
    return version


@transactional
def publish(survey_id: int, *, actor: User | None) -> SurveyVersion:
    """Freeze the draft as a new version; later invitations use it, earlier answers keep theirs."""
    survey = get_survey(survey_id)
    survey.require_status(SurveyStatus.DRAFT, action="发布")
    return publish_row(survey, actor=actor)


@transactional
def close(survey_id: int) -> Survey:
    """Stop the survey: no new invitations; open links still work until they expire."""
    survey = get_survey(survey_id)
    survey.require_status(SurveyStatus.PUBLISHED, action="关闭")
    survey.status = SurveyStatus.CLOSED
    survey.closed_at = utcnow()
    return survey


@transactional
def reopen_draft(survey_id: int) -> Survey:
    """Start editing the next version of a published or closed survey."""
    survey = get_survey(survey_id)
    survey.require_status(SurveyStatus.PUBLISHED, SurveyStatus.CLOSED, action="修订")
    survey.status = SurveyStatus.DRAFT
    return survey


@transactional
def clone(survey_id: int, *, code: str, actor: User | None) -> Survey:
    """A new draft with a copy of this survey's current definition under a new code."""
    source = get_survey(survey_id)
    code = _check_code(code)
    text = _with_code(source.draft_text, code)
    parse_draft(text)
    copy = Survey(
        code=code,
        title=f"{source.title}（副本）"[:200],
        description=source.description,
        draft_text=text,
        template_code=source.template_code,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(copy)
    db.session.flush()
    return copy
