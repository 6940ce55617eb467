"""Forms of survey management: drafts, campaigns, trigger rules."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.services.campaigns import WINDOW_ORDER
from app.web.forms import BaseForm

CUSTOM_EVENT = "_custom"

CHANNEL_CHOICES = [
    SelectChoice("sms", "短信"),
    SelectChoice("email", "电子邮件"),
    SelectChoice("wechat", "微信"),
    SelectChoice("app", "手机银行推送"),
]


class NewSurveyForm(BaseForm):
    template = SelectField("问卷模板", choices=[])
    code = StringField(
        "问卷代码",
        validators=[
            DataRequired("请填写问卷代码"),
            Length(max=40, message="不超过 40 个字符"),
        ],
    )


class DraftForm(BaseForm):
    title = StringField(
        "问卷标题",
        validators=[DataRequired("请填写问卷标题"), Length(max=200, message="不超过 200 个字符")],
        description="客户在问卷页顶部看到的标题；只在这里填写，问卷定义中不写 title。",
    )
    description = TextAreaField(
        "说明",
        validators=[Length(max=2000, message="不超过 2000 个字符")],
        description=(
            "问卷简介，没有开场语（intro）时显示在标题下方，可留空；"
            "只在这里填写，问卷定义中不写 description。"
        ),
    )
    definition = TextAreaField("问卷定义（YAML）", validators=[DataRequired("请填写问卷定义")])


class CloneForm(BaseForm):
    code = StringField(
        "新问卷代码",
        validators=[
            DataRequired("请填写新问卷代码"),
            Length(max=40, message="问卷代码最长 40 个字符"),
        ],
        description="新问卷的代码，不能与已有问卷重复：小写字母、数字、“_”或“-”，最长 40 个字符。",
    )


class CampaignForm(BaseForm):
    name = StringField("活动名称", validators=[DataRequired("请填写活动名称"), Length(max=200)])
    survey_id = SelectField("问卷", choices=[], coerce=int)
    channel = SelectField("发送渠道", choices=CHANNEL_CHOICES)
    audience = SelectField(
        "目标客户",
        choices=[
            SelectChoice("branch", "机构（含下级网点）"),
            SelectChoice("segment", "客户分层"),
            SelectChoice("product", "持有产品"),
            SelectChoice("list", "上传名单（客户号）"),
            SelectChoice("anonymous", "匿名公开链接（不记录客户身份）"),
        ],
    )
    branch_id = SelectField("机构", choices=[], coerce=int)
    segment = SelectField("客户分层", choices=[])
    product_id = SelectField("产品", choices=[], coerce=int)
    list_text = TextAreaField("客户号名单", description="每行一个客户号，或用逗号分隔")
    window_start = DateTimeLocalField(
        "开始发送",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("请填写开始时间")],
        description="北京时间；开始前不能发送。",
    )
    window_end = DateTimeLocalField(
        "发送截止",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("请填写截止时间")],
        description="截止后不再发送或补发，匿名公开链接也随之关闭。",
    )
    expires_days = IntegerField(
        "链接有效期（天）",
        default=14,
        validators=[NumberRange(1, 90, "有效期须为 1–90 天")],
    )
    reminder_days = IntegerField(
        "未答提醒（发送后第几天，留空不提醒）",
        validators=[Optional(), NumberRange(1, 89, "提醒天数须为 1–89")],
    )
    quota = IntegerField(
        "发送配额（留空不限）", validators=[Optional(), NumberRange(1, 10_000_000)]
    )
    once_per_device = BooleanField("同一设备只能作答一次", default=True)

    answer_cap = IntegerField(
        "答卷上限（份，留空不限）",
        validators=[Optional(), NumberRange(1, 10_000_000, "答卷上限须为 1 以上的整数")],
    )

    def validate_window_end(self, field) -> None:
        """Named with the form's other faults (the service checks it again)."""
        start = self.window_start.data
        if start is not None and field.data is not None and field.data <= start:
            raise ValidationError(WINDOW_ORDER)


class TriggerForm(BaseForm):
    def event_code(self) -> str:
        """The event the rule listens to: the chosen known event, or the typed custom code."""
        if self.event_type.data == CUSTOM_EVENT:
            return (self.custom_event.data or "").strip()
        return self.event_type.data

    # The known events by their Chinese names (filled from survey_triggers.EVENT_LABELS), or
    # CUSTOM_EVENT with a code typed in custom_event.
    event_type = SelectField("事件", choices=[])
    custom_event = StringField(
        "自定义事件代码（选“其他”时填写）", validators=[Optional(), Length(max=64)]
    )
    survey_id = SelectField("问卷", choices=[], coerce=int)
    action = SelectField(
        "动作",
        choices=[SelectChoice("survey", "发送问卷"), SelectChoice("visit", "安排电话回访")],
    )
    channel = SelectField("渠道", choices=CHANNEL_CHOICES)
    delay_hours = IntegerField(
        "延迟（小时）", default=24, validators=[NumberRange(0, 8760, "须在 0–8760 小时之间")]
    )
    # "" any product, "category:<code>" a product category, "product:<id>" one product
    product_scope = SelectField("适用产品", choices=[], default="")
    branch_id = SelectField("适用机构（含下级）", choices=[], coerce=int, default=0)
    sample_percent = IntegerField(
        "抽样比例（%）",
        default=100,
        validators=[NumberRange(1, 100, "抽样比例须为 1–100 的整数")],
        description="100 表示每个匹配的事件都安排；例如 20 表示约五分之一。",
    )

    def scope(self) -> dict:
        """The rule's scope as survey_triggers.add_rule takes it."""
        kind, _, value = (self.product_scope.data or "").partition(":")
        return {
            "branch_id": self.branch_id.data or None,
            "product_category": value if kind == "category" else None,
            "product_id": int(value) if kind == "product" else None,
            "sample_percent": self.sample_percent.data,
        }
