"""Forms of the closure loop: problems, actions, evidence, override, links."""

from __future__ import annotations

from flask_wtf.file import MultipleFileField
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

import nlp
from app.extensions import db
from app.models import Branch, Survey
from app.models.improvement import ROOT_CAUSE_LABELS
from app.models.survey import SurveyStatus
from app.services import improvements, org
from app.web.forms import BaseForm

NO_NUL = Regexp(r"^[^\x00]*$", message="包含无效字符")
CHANNELS = [("sms", "短信"), ("email", "电子邮件"), ("wechat", "微信"), ("app", "手机银行消息")]


def _choices(pairs, blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(str(v), label) for v, label in pairs]


def staff_choices(blank: str = "（未指定）", branch: Branch | None = None) -> list[SelectChoice]:
    """The staff of the viewer's subtree (a Hangzhou manager was offered Nanjing's); with
    ``branch``, only those who may own its 整改 work (its unit, below or above it)."""
    people = org.staff_in_scope()
    if branch is not None:
        people = [u for u in people if improvements.works_for(u.branch, branch)]
    return _choices(((u.id, f"{u.display_name}（{u.role_label}）") for u in people), blank)


def survey_choices() -> list[SelectChoice]:
    rows = db.session.scalars(
        select(Survey).where(Survey.status == SurveyStatus.PUBLISHED).order_by(Survey.id)
    )
    return _choices(((s.id, s.title) for s in rows), "（请选择问卷）")


class PlainForm(BaseForm):
    pass


OWNER_NEEDED = "请选择问题负责人（由其跟进整改措施直至闭环）"


class ProblemForm(BaseForm):
    title = StringField(
        "问题标题", validators=[DataRequired("请填写问题标题"), Length(max=200), NO_NUL]
    )
    description = TextAreaField("问题描述", validators=[Optional(), Length(max=5000), NO_NUL])
    root_cause = SelectField(
        "根因类别", validate_choice=False, choices=_choices(ROOT_CAUSE_LABELS.items(), "（请选择）")
    )
    branch_code = SelectField("影响范围（机构及下级）", validate_choice=False, choices=[])
    product_code = SelectField("涉及产品", validate_choice=False, choices=[])
    code_business = SelectField("投诉业务类别（JR/T 0169）", validate_choice=False, choices=[])
    code_cause = SelectField("投诉原因（JR/T 0169）", validate_choice=False, choices=[])
    survey_code = SelectField("相关问卷（满意度对比）", validate_choice=False, choices=[])
    # chosen every time: a problem saved with nobody responsible had its actions default to
    # nobody too (（同问题负责人）), and nobody was chased when they fell due
    owner_id = SelectField(
        "问题负责人",
        validate_choice=False,
        choices=[],
        validators=[DataRequired(OWNER_NEEDED)],
    )
    window_days = IntegerField(
        "对比窗口（天）",
        default=60,
        validators=[
            InputRequired("请填写对比窗口"),
            NumberRange(14, 365, "对比窗口须为 14–365 天"),
        ],
    )

    def validate_owner_id(self, field) -> None:
        if field.data and not str(field.data).isdigit():  # (a forged post: no such person)
            raise ValidationError(OWNER_NEEDED)

    def fill(self) -> None:
        branches = org.branches_in_scope()  # (the service refuses a branch outside it anyway)
        branch_options = ((b.code, b.option_label) for b in branches)
        self.branch_code.choices = _choices(branch_options, "（请选择）")
        product_options = ((p.code, p.option_label) for p in org.products_for_records())
        self.product_code.choices = _choices(product_options, "（全部产品）")
        taxonomy = nlp.load_taxonomy()
        self.code_business.choices = _choices(taxonomy.dimension("B").choices(), "（按关联投诉）")
        self.code_cause.choices = _choices(taxonomy.dimension("C").choices(), "（不限）")
        surveys = db.session.scalars(select(Survey).order_by(Survey.id))
        self.survey_code.choices = _choices(((s.code, s.title) for s in surveys), "（全部问卷）")
        self.owner_id.choices = staff_choices("（请选择）")


class ActionForm(BaseForm):
    title = StringField(
        "整改内容", validators=[DataRequired("请填写整改内容"), Length(max=200), NO_NUL]
    )
    detail = TextAreaField("具体做法", validators=[Optional(), Length(max=5000), NO_NUL])
    owner_id = SelectField("责任人", validate_choice=False, choices=[])
    due_on = DateField("完成期限", validators=[DataRequired("请填写完成期限（年-月-日）")])

    def fill(self, branch: Branch | None = None) -> None:
        """The owners offered: staff who may own the problem's work (of ``branch``)."""
        self.owner_id.choices = staff_choices("（同问题负责人）", branch)


class ActionCancelForm(BaseForm):
    # "text", as the reason of 重新打开: the service names this field in its refusals
    text = TextAreaField(
        "撤销原因",
        validators=[DataRequired("请写明撤销的原因"), Length(max=2000), NO_NUL],
    )


class ActionChangeForm(BaseForm):
    text = TextAreaField("说明 / 证据", validators=[Optional(), Length(max=5000), NO_NUL])
    files = MultipleFileField("证据附件（可多选，每个不超过 5 MB）")
    resurvey = BooleanField("完成后邀请关联客户参加回访调查")
    survey_id = SelectField("回访问卷", validate_choice=False, choices=[])
    channel = SelectField("发送渠道", validate_choice=False, choices=_choices(CHANNELS))
    due_on = DateField("新的完成期限（重新打开时）", validators=[Optional()])

    def fill(self) -> None:
        self.survey_id.choices = survey_choices()


class OverrideForm(BaseForm):
    reason = TextAreaField(
        "人工认定理由",
        validators=[DataRequired("请写明人工认定的理由"), Length(max=2000), NO_NUL],
    )


class LinkForm(BaseForm):
    problem_id = SelectField("关联到问题", validate_choice=False, choices=[])
    source_type = HiddenField()
    source_id = HiddenField()
