"""Survey management: create from a template, edit a draft, publish (freezes a version), clone.

A survey's title and description live on its row and are edited in their own form fields; its
draft YAML holds everything else (code, intro, thank_you, questions). Publishing puts the two
together, so the title customers see is the one on the form and nowhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from sqlalchemy import func, select

from app.extensions import db
from app.models import Survey, SurveyStatus, SurveyVersion, User, row_id, utcnow
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.tx import get_or_raise, transactional
from surveys import DefinitionError, SurveyDefinition, definition_hash, load_definition
from surveys._read import VALUE_PATTERN
from surveys.explain import explain, line_of, lines_of
from surveys.schema import YamlRefused, read_yaml
from surveys.templates import load_template, template_codes
from surveys.yaml_out import dump_definition

CODE_MAX = 40
ROW_FIELDS = {"title": "问卷标题", "description": "说明"}  # on the row, not in the draft YAML


@dataclass(frozen=True)
class Problem:
    """One fault of a draft definition, in words, its line in the text (1-based) if known, and
    the engine's path of the field (``questions[2].options``), which the form-based designer
    uses to point at the question instead of a line."""

    message: str
    line: int | None = None
    path: str = ""

    @property
    def question(self) -> int | None:
        """0-based index of the question the fault is in, if it is in one."""
        found = _QUESTION_PATH.match(self.path)
        return int(found.group(1)) if found else None


_QUESTION_PATH = re.compile(r"questions\[(\d+)\]")


class DefinitionInvalid(ValidationFailed):
    """A draft definition that does not pass. ``problems`` lists every fault found, in the
    order of the text, so staff mend them all at once; ``message`` and ``line`` are the first's.
    """

    def __init__(
        self, message: str, *, line: int | None = None, problems: Sequence[Problem] = ()
    ) -> None:
        super().__init__(message, field="definition")
        self.problems = tuple(problems) or (Problem(message, line),)
        self.line = self.problems[0].line

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> DefinitionInvalid:
        ordered = sorted(problems, key=lambda p: (p.line is None, p.line or 0))
        return cls(ordered[0].message, problems=ordered)


CLONE_MARK = "（副本）"  # a copy's title until staff rename it (never published so)


# A questionnaire started from nothing: one satisfaction question to build on (a survey needs
# one question to be valid), no template's settings carried along.
BLANK = "blank"
BLANK_TITLE = "新建问卷"  # a placeholder: publishing refuses it, as it does a copy's （副本）
BLANK_TEXT = f"""code: blank
title: {BLANK_TITLE}
intro: 尊敬的客户，您好！为了解您对我行服务的评价，请您抽出一分钟完成以下问题。
thank_you: 感谢您的参与！
questions:
  - id: overall
    type: rating
    metric: csat
    title: 您对本次服务是否满意？
"""


def template_choices() -> list[tuple[str, str]]:
    """(code, title) of every shipped template, and the blank start."""
    shipped = [(code, load_template(code).title) for code in template_codes()]
    return [(BLANK, "空白问卷（从一道满意度评分题开始）"), *shipped]


def template_text(code: str) -> str:
    """The template's YAML exactly as shipped (comments included)."""
    if code == BLANK:
        return BLANK_TEXT
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


def _draft_data(text: str) -> dict:
    try:
        data = read_yaml(text or "")
    except YamlRefused as err:
        raise DefinitionInvalid(err.reason, line=err.line) from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else None
        where = f"（第 {line} 行附近）" if line else ""
        raise DefinitionInvalid(
            f"YAML 格式错误{where}：请检查缩进（用空格对齐）和冒号", line=line
        ) from err
    if not isinstance(data, dict):
        raise DefinitionInvalid("问卷定义应由 code、questions 等字段组成，每行“字段: 内容”", line=1)
    return data


def parse_draft(text: str, *, title: str, description: str = "") -> SurveyDefinition:
    """The definition a draft stands for: its YAML with the survey's title and description.

    A title or description still in the YAML (drafts saved before they moved to the form) is
    ignored, as publishing always did. Errors are Chinese sentences naming the question, every
    fault the engine finds at once (DefinitionInvalid.problems).
    """
    data = {k: v for k, v in _draft_data(text).items() if k not in ROW_FIELDS}
    data["title"] = title
    if description:
        data["description"] = description
    try:
        return load_definition(data)
    except DefinitionError as err:
        for row in err.errors:  # (the form's own checks keep these from happening there)
            if row.path in ROW_FIELDS:
                raise ValidationFailed(
                    f"{ROW_FIELDS[row.path]}{row.message}", field=row.path
                ) from err
        lines = lines_of(text, [one.path for one in err.errors])
        problems = [
            Problem(explain(one, data), line, one.path)
            for one, line in zip(err.errors, lines, strict=True)
        ]
        raise DefinitionInvalid.of(problems) from err


def draft_definition(survey: Survey) -> SurveyDefinition:
    return parse_draft(survey.draft_text, title=survey.title, description=survey.description)


def editable_text(survey: Survey) -> str:
    """The draft YAML as the editor shows it: without a title or description of its own."""
    try:
        return _without_row_fields(survey.draft_text)
    except DefinitionInvalid:  # unreadable (never saved so): shown as it is, to be mended
        return survey.draft_text


def _without_row_fields(text: str) -> str:
    """``text`` without top-level title/description: their lines are cut (comments and layout
    kept); a text laid out otherwise (JSON, say) is written out again without them."""
    data = _draft_data(text)
    if not any(key in data for key in ROW_FIELDS):
        return text
    kept, cutting = [], False
    for line in text.splitlines():
        if cutting and (not line.strip() or line[0] in " \t"):  # the cut value's other lines
            continue
        cutting = any(line.startswith(f"{key}:") for key in ROW_FIELDS)
        if not cutting:
            kept.append(line)
    rest = {k: v for k, v in data.items() if k not in ROW_FIELDS}
    out = "\n".join(kept) + "\n"
    try:
        if read_yaml(out) == rest:
            return out
    except yaml.YAMLError:
        pass
    return yaml.safe_dump(rest, allow_unicode=True, sort_keys=False)


# -- the form-based designer ---------------------------------------------------------------
# It edits the draft as data (the YAML's mappings and lists) and saves it written out as YAML
# (``dump_definition``), so one text is stored, shown and published whichever view staff use.

NOT_FORM_EDITABLE = "问卷定义的结构无法用表单显示，请在“YAML 源码”中修改后再切换到表单"
# definition, questions, question, then show_if: five nested all/any groups (each a mapping and
# its list: 10), the condition and its value list (15 in all, with one to spare)
DATA_MAX_DEPTH = 16


def _nested_deeper(value: object, limit: int) -> bool:
    if limit < 0:
        return True
    if isinstance(value, dict):
        return any(_nested_deeper(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return any(_nested_deeper(v, limit - 1) for v in value)
    return False


def _form_shaped(data: object) -> bool:
    """Whether the designer's form can show this data: a mapping whose questions are mappings,
    their options and matrix items too (any other fault is the engine's to name)."""
    if not isinstance(data, dict):
        return False
    questions = data.get("questions", [])
    if not isinstance(questions, list) or not all(isinstance(q, dict) for q in questions):
        return False
    for question in questions:
        for key in ("options", "items"):
            rows = question.get(key, [])
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                return False
        if not isinstance(question.get("show_if", {}), dict):
            return False
    return True


def designer_data(text: str) -> dict:
    """A draft's YAML as the form shows it: its data without the row's title and description.
    Raises DefinitionInvalid when the text does not read or is not shaped for the form."""
    data = _draft_data((text or "").replace("\r\n", "\n"))
    data = {k: v for k, v in data.items() if k not in ROW_FIELDS}
    if not _form_shaped(data) or _nested_deeper(data, DATA_MAX_DEPTH):
        raise DefinitionInvalid(NOT_FORM_EDITABLE)
    return data


def designer_text(payload: str) -> str:
    """The YAML text of the form's data, sent as JSON: written out as the templates are laid
    out. Raises DefinitionInvalid for anything but a definition-shaped object."""
    try:
        data = json.loads(payload or "")
    except (ValueError, RecursionError):
        data = None
    if not _form_shaped(data) or _nested_deeper(data, DATA_MAX_DEPTH):
        raise DefinitionInvalid("表单内容无法读取，请刷新页面后重试（未保存的修改可先复制出来）")
    return dump_definition({k: v for k, v in data.items() if k not in ROW_FIELDS})


def editable_data(survey: Survey) -> dict | None:
    """The draft as the form shows it, or None when only the YAML view can show it."""
    try:
        return designer_data(survey.draft_text)
    except DefinitionInvalid:
        return None


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


def version_by_number(code: str, number: int | str) -> SurveyVersion:
    """One published version of a survey, by its number (1, 2, …), also as a URL gives it: a
    text that is no number finds none, and the message names what was asked for (it said
    "没有第 None 版")."""
    survey = survey_by_code(code)
    wanted = row_id(number) if isinstance(number, str) else number
    found = next((v for v in survey.versions if v.number == wanted), None) if wanted else None
    if found is None:
        asked = str(number) if len(str(number)) <= 20 else f"{str(number)[:20]}…"
        raise NotFound(f"问卷 {code} 没有第 {asked} 版", field="number")
    return found


def published_version(code: str) -> SurveyVersion:
    """The version new invitations of this survey use; the survey must be published."""
    survey = survey_by_code(code)
    if not survey.serving or survey.latest_version is None:
        raise Conflict(f"问卷 {code} 未发布或已关闭", field="survey_code")
    return survey.latest_version


def _check_code(code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > CODE_MAX:
        raise ValidationFailed("请填写问卷代码（不超过 40 个字符）", field="code")
    if not VALUE_PATTERN.fullmatch(code):  # (as the definition's own code must be)
        raise ValidationFailed(
            "问卷代码只能用小写字母、数字、- 和 _，并以字母或数字开头（如 branch-2027）",
            field="code",
        )
    if db.session.scalar(select(func.count(Survey.id)).where(Survey.code == code)):
        raise ValidationFailed(f"问卷代码 {code} 已被使用", field="code")
    return code


def _with_code(text: str, code: str) -> str:
    """The draft text with its top-level ``code:`` line set to ``code``, quoted where YAML
    would read it as another type (``0x1f`` is the number 31, ``2026-02-30`` a date)."""
    value = code if read_yaml(f"code: {code}") == {"code": code} else json.dumps(code)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("code:"):
            lines[i] = f"code: {value}"
            return "\n".join(lines) + "\n"
    return f"code: {value}\n" + text


def create_survey_row(template: str, *, code: str | None = None, actor: User | None) -> Survey:
    if template != BLANK and template not in template_codes():
        raise ValidationFailed("未知的问卷模板", field="template")
    source = load_definition(template_text(template))
    code = _check_code(code or template)
    text = _without_row_fields(_with_code(template_text(template), code))
    parse_draft(text, title=source.title, description=source.description)
    title = source.title
    if db.session.scalar(select(Survey.id).where(Survey.title == title).limit(1)) is not None:
        # (a second survey from one template was listed under the same title as the first)
        title = f"{title}（{code}）"[:200]
    survey = Survey(
        code=code,
        title=title,
        description=source.description,
        draft_text=text,
        template_code=None if template == BLANK else template,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(survey)
    db.session.flush()
    return survey


@transactional
def create_from_template(template: str, *, code: str | None = None, actor: User | None) -> Survey:
    """A new draft survey holding a copy of the template; the code must be unused."""
    return create_survey_row(template, code=code, actor=actor)


# How a question's kind reads in a message (a matrix adds its scale).
KIND_NAMES = {
    "rating": "评分题（1–5 分）",
    "nps": "推荐度题（0–10 分）",
    "ces": "省力度题（CES，1–7 分，越高越省力）",
    "single": "单选题",
    "multiple": "多选题",
    "text": "文字题",
    "matrix": "矩阵题",
}


def _kind(question: dict) -> tuple[str, str | None]:
    return question["type"], question.get("scale") if question["type"] == "matrix" else None


def _kind_name(kind: tuple[str, str | None]) -> str:
    kind_type, scale = kind
    name = KIND_NAMES.get(kind_type, kind_type)
    return f"{name}，按{KIND_NAMES.get(scale, scale)}" if scale else name


def _published_kinds(survey: Survey) -> dict[str, tuple[int, tuple[str, str | None]]]:
    """Each question id of the published versions: the newest version that had it, its kind."""
    before: dict[str, tuple[int, tuple[str, str | None]]] = {}
    for version in survey.versions:  # oldest first: the newest that had the id wins
        for question in version.definition.get("questions", []):
            before[question["id"]] = (version.number, _kind(question))
    return before


def published_question_ids(survey: Survey) -> list[str]:
    """Ids answers may already be filed under: the designer keeps them and their type fixed."""
    return sorted(_published_kinds(survey))


def published_codes(survey: Survey) -> dict[str, list[str]]:
    """Each published question's option values and matrix item ids, of every version: answers
    are filed under them, so the designer keeps them (a row may still be deleted)."""
    codes: dict[str, set[str]] = {}
    for version in survey.versions:
        for question in version.definition.get("questions", []):
            found = codes.setdefault(question["id"], set())
            found.update(str(o["value"]) for o in question.get("options", []))
            found.update(str(i["id"]) for i in question.get("items", []))
    return {qid: sorted(values) for qid, values in codes.items() if values}


def _check_kept_kinds(survey: Survey, defn: SurveyDefinition, text: str) -> None:
    """A question id keeps its type (a matrix its scale) from version to version: dashboards and
    exports sum answers by question id across versions, so a 1–5 rating turned into a 0–10
    recommendation under the same id counted the old ratings as detractors. A new question
    takes a new id."""
    before = _published_kinds(survey)
    found: list[tuple[str, str]] = []
    for index, question in enumerate(defn.to_dict()["questions"]):
        if question["id"] not in before:
            continue
        number, kind = before[question["id"]]
        if kind != _kind(question):
            found.append(
                (
                    f"第 {index + 1} 题（{question['id']}）在第 {number} 版是"
                    f"{_kind_name(kind)}，不能改为{_kind_name(_kind(question))}："
                    "已有答卷按题目 id 汇总，改变题型会把新旧答案混在一起；请保留原题型，"
                    f"或给新题目换一个 id（如 {question['id']}_2）",
                    f"questions[{index}].type",
                )
            )
    if found:
        lines = lines_of(text, [path for _, path in found])
        raise DefinitionInvalid.of(
            [
                Problem(message, line, path)
                for (message, path), line in zip(found, lines, strict=True)
            ]
        )


@transactional
def update_draft(survey_id: int, *, title: str, description: str, text: str) -> Survey:
    """Save a draft's title, description and definition; the definition must pass the schema
    and must not carry a title or description of its own (they are the form's)."""
    survey = get_survey(survey_id)
    survey.require_status(SurveyStatus.DRAFT, action="编辑")
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("请填写问卷标题", field="title")
    text = (text or "").replace("\r\n", "\n")
    data = _draft_data(text)
    for key, label in ROW_FIELDS.items():
        if key in data:
            raise DefinitionInvalid(
                f"问卷定义中不要写 {key}：{label}只在上方的“{label}”栏填写，请删除这一行",
                line=line_of(text, key),
            )
    description = (description or "").strip()
    defn = parse_draft(text, title=title[:200], description=description)
    if defn.code != survey.code:
        raise DefinitionInvalid(
            f"问卷代码（code）不可修改，应为 {survey.code}", line=line_of(text, "code")
        )
    _check_kept_kinds(survey, defn, text)
    survey.title = title[:200]
    survey.description = description
    survey.draft_text = text
    return survey


def publish_row(survey: Survey, *, actor: User | None) -> SurveyVersion:
    """Freeze the draft as a new version, or, when it says exactly what the latest version says
    (修订 then 发布 with nothing changed), put that version back in service without a new
    number: a version number that moves without a change misleads whoever reads exports."""
    defn = draft_definition(survey)
    _check_kept_kinds(survey, defn, survey.draft_text)
    survey.status, survey.closed_at = SurveyStatus.PUBLISHED, None
    latest = survey.latest_version
    if latest is not None and latest.definition_hash == definition_hash(defn):
        return latest
    version = SurveyVersion(
        survey=survey,
        number=len(survey.versions) + 1,
        definition=defn.to_dict(),
        definition_hash=definition_hash(defn),
        published_by_id=actor.id if actor else None,
    )
    db.session.add(version)
    db.session.flush()
    return version


@transactional
def publish(survey_id: int, *, actor: User | None) -> SurveyVersion:
    """Freeze the draft as a new version; later invitations use it, earlier answers keep theirs."""
    survey = get_survey(survey_id)
    survey.require_status(SurveyStatus.DRAFT, action="发布")
    if survey.title.endswith(CLONE_MARK):  # a copy published as it was made
        raise ValidationFailed(
            f"问卷标题仍带“{CLONE_MARK}”，客户会看到这个标题；请先修改标题并保存，再发布",
            field="title",
        )
    if survey.title.strip() == BLANK_TITLE:  # a blank survey's placeholder, never renamed
        raise ValidationFailed(
            f"问卷标题仍是“{BLANK_TITLE}”，客户会在问卷页面看到这个标题；"
            "请先改为本问卷的标题并保存，再发布",
            field="title",
        )
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
    """Start editing the next version of a published or closed survey. A published one keeps
    serving its last version meanwhile; a closed one stays closed (``closed_at`` stays set)
    until the new version is published."""
    survey = get_survey(survey_id)
    survey.require_status(SurveyStatus.PUBLISHED, SurveyStatus.CLOSED, action="修订")
    survey.status = SurveyStatus.DRAFT
    return survey


@transactional
def clone(survey_id: int, *, code: str, actor: User | None) -> Survey:
    """A new draft with a copy of this survey's current definition under a new code."""
    source = get_survey(survey_id)
    code = _check_code(code)
    text = _with_code(editable_text(source), code)
    title = f"{source.title[: 200 - len(CLONE_MARK)]}{CLONE_MARK}"
    parse_draft(text, title=title, description=source.description)
    copy = Survey(
        code=code,
        title=title,
        description=source.description,
        draft_text=text,
        template_code=source.template_code,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(copy)
    db.session.flush()
    return copy
