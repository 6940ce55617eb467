"""Forms of the complaint desk: entry by staff and every action on a case."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

import nlp
from app.models.complaint import MAJOR_REASON_LABELS
from app.services.complaint_handling import (
    CAPACITIES,
    DECLINE_GROUNDS,
    IDENTITY_CHECKS,
    IDENTITY_UNCHECKED,
    NOTICE_METHODS,
    NOTICE_PURPOSES,
    REMEDIES,
)
from app.web import file_field
from app.web.forms import BaseForm

NO_NUL = r"^[^\x00]*$"


def choices(pairs, blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(str(v), label) for v, label in pairs]


def code_choices(dimension: str) -> list[SelectChoice]:
    return choices(nlp.load_taxonomy().dimension(dimension).choices(), "（请选择）")


def text_area(label: str, required: bool = True, max_len: int = 5000) -> TextAreaField:
    checks = [DataRequired(f"请填写{label}")] if required else [Optional()]
    return TextAreaField(label, validators=[*checks, Length(max=max_len, message="内容过长")])


class VersionedForm(BaseForm):
    # the case's version the page showed: a post carrying something else is refused, not taken
    # as "no version" (which skipped the check that nobody saved the case meanwhile)
    version = HiddenField(
        validators=[Optional(), Regexp(r"^[0-9]{1,9}$", message="页面已失效，请刷新后重新提交")]
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for message in self.version.errors:  # (a hidden field's error shows with the form's)
            if message not in self.form_errors:
                self.form_errors.append(message)
        return ok

    @property
    def seen_version(self) -> int | None:
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


def _regulator_ref_needed(form, field) -> None:
    # Staff registering a forwarded case have the regulator's letter in hand. Runs before
    # Optional(), which ends the chain on an empty field (an inline validate_regulator_ref
    # never ran, and forwarded cases were registered without the regulator's number).
    if form.channel.data == "regulator" and not (field.data or "").strip():
        raise StopValidation("监管转办投诉须填写监管转办编号")


class EntryForm(file_field.WithFiles, BaseForm):
    channel = SelectField(
        "受理渠道",
        choices=choices(
            [
                ("hotline", "客服热线"),
                ("branch", "营业网点"),
                ("regulator", "监管转办"),
                ("email", "电子邮件"),
                ("web", "网站"),
                ("wechat", "微信"),
                ("app", "手机银行"),
            ]
        ),
    )
    name = StringField("投诉人姓名", validators=[DataRequired("请填写投诉人姓名"), Length(max=100)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=30)])
    email = StringField(
        "电子邮箱",
        validators=[
            Optional(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="邮箱格式不正确"),
            Length(max=254),
        ],
    )
    external_id = StringField("客户号（如已知）", validators=[Optional(), Length(max=64)])
    branch_code = SelectField("所属机构", choices=[])
    product_code = SelectField("涉及产品", choices=[])
    received_at = DateTimeLocalField(
        "接收时间（北京时间）",
        validators=[Optional()],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    content = text_area("投诉内容")
    demand = text_area("客户诉求", required=False, max_len=2000)
    regulator_ref = StringField(
        "监管转办编号", validators=[_regulator_ref_needed, Optional(), Length(max=100)]
    )
    regulator_received_on = DateField("监管部门接收日期", validators=[Optional()])
    group_size = IntegerField(
        "涉及人数", validators=[Optional(), NumberRange(1, 100000, "人数无效")]
    )
    major_reason = SelectField("重大投诉认定", choices=choices(MAJOR_REASON_LABELS.items(), "否"))
    attachments = file_field.attachment_field(
        "附件（选填）",
        f"客户的书面投诉、凭证等的扫描件或照片，{file_field.LIMITS}，支持 {file_field.KINDS}",
    )


class AttachForm(file_field.WithFiles, VersionedForm):
    files_required = True
    attachments = file_field.attachment_field(
        "补充的附件",
        f"客户后来提交的凭证、材料的扫描件或照片；本投诉的附件合计{file_field.LIMITS}，"
        f"支持 {file_field.KINDS}",
    )


class ReasonForm(VersionedForm):
    reason = text_area("说明", max_len=2000)


class AcceptForm(VersionedForm):
    # (optional: recorded in the history when stated; the service refuses an unknown value)
    capacity = SelectField(
        "投诉人身份",
        choices=choices(CAPACITIES.items(), "（未记录）"),
        validate_choice=False,
    )
    identity_check = SelectField(
        "身份核验方式",
        choices=choices(IDENTITY_CHECKS.items(), "（未记录）"),
        validate_choice=False,
    )
    # (offered to a handler accepting a case nobody holds: see the page's accept panel)
    take = BooleanField("受理后由我处理（处理人为本人）")


class DeclineForm(VersionedForm):
    # The ground is checked by the service, which explains a refusal (a choice check answered
    # in English); only Art. 18's ground is offered.
    ground = SelectField(
        "不予受理的理由",
        choices=choices(DECLINE_GROUNDS.items(), "（请选择）"),
        validate_choice=False,
    )
    reason = text_area("提出人及情况说明", max_len=2000)


class WithdrawForm(ReasonForm):
    on = DateField(
        "收到撤回的日期",
        validators=[Optional()],
        description="留空为今天；撤回之日投诉即告终结：不能早于投诉接收日期，"
        "也不能早于已作出的处理决定等已登记的办理事项",
    )


class PlainForm(VersionedForm):
    pass


class PauseForm(VersionedForm):
    kind = SelectField(
        "中止原因",
        choices=choices([("appraisal", "第三方鉴定、检测或评估"), ("mediation", "调解")]),
    )
    on = DateField(
        "中止日期",
        validators=[Optional()],
        description="留空为今天；可补登 3 天内已开始的鉴定或调解，更早的须由机构负责人或"
        "总行管理人员补登；办理时限届满后不能再登记中止计时",
    )
    reason = text_area("中止说明", max_len=2000)


class ResumeForm(VersionedForm):
    on = DateField("恢复日期", validators=[Optional()])


class ExtendForm(VersionedForm):
    level = SelectField(
        "延长至",
        choices=choices(
            [("1", "30 日（复杂投诉）"), ("2", "60 日（再延长 30 日，须上级机构或总行审批）")]
        ),
    )
    reason = text_area("延期理由", max_len=2000)


def identity_field() -> SelectField:
    """How the complainant's identity was checked (Art. 22), "暂未核验" not offered; the service
    refuses anything else, in words a choice check would not give."""
    checks = [(k, v) for k, v in IDENTITY_CHECKS.items() if k != IDENTITY_UNCHECKED]
    return SelectField("身份核验方式", choices=choices(checks, "（请选择）"), validate_choice=False)


class IdentityForm(VersionedForm):
    method = identity_field()


class DecisionForm(VersionedForm):
    identity_check = identity_field()  # (shown while no check is recorded)
    verified = text_area("核实情况")
    basis = text_area("处理依据和理由")
    decision_text = text_area("处理决定")
    remedies = SelectMultipleField(
        "告知的救济途径",
        choices=choices(REMEDIES.items()),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        default=list(REMEDIES),
    )


class NoticeForm(VersionedForm):
    method = SelectField("告知方式", choices=choices(NOTICE_METHODS.items()))
    purpose = SelectField("告知事项", choices=choices(NOTICE_PURPOSES.items()))
    outcome = SelectField(
        "通话结果（电话告知）",
        choices=choices(
            [
                ("reached", "已接通并告知"),
                ("no_answer", "无人接听"),
                ("unreachable", "号码无法接通"),
            ],
            "—",
        ),
    )
    posted_on = DateField("寄出日期（信函）", validators=[Optional()])
    note = TextAreaField(
        "告知内容 / 补充说明",
        validators=[Optional(), Length(max=2000, message="内容过长")],
        description="短信、邮件告知处理决定（或核查决定）时自动写明核实情况、处理依据和理由、"
        "处理决定及救济途径，告知不予受理时自动写明理由，此处填写的内容作为补充说明附在其后；"
        "其他事项留空则自动生成。电话、信函、当面告知时请记录告知情况。",
    )


class NoteForm(VersionedForm):
    kind = SelectField("记录类型", choices=choices([("note", "内部备注"), ("contact", "联系记录")]))
    text = text_area("内容", max_len=5000)


class AssignForm(VersionedForm):
    # The list offers the staff who can see the case; whoever is posted is checked again by the
    # service (branch scope, 回避), which explains a refusal in words a choice check cannot.
    assignee = SelectField("处理人", choices=[], validate_choice=False)

    def validate_assignee(self, field) -> None:
        value = field.data or ""
        if not (value.isascii() and value.isdigit()) or len(value) > 12:
            raise ValidationError("请选择处理人")

    @property
    def assignee_id(self) -> int:
        return int(self.assignee.data)


class ClassifyForm(VersionedForm):
    code_channel = SelectField("A 渠道", choices=[])
    code_business = SelectField("B 业务类别", choices=[])
    code_cause = SelectField("C 投诉原因", choices=[])
    # whom the case names now, ticked (untick to take a name off); more are typed into
    # add_staff with the handlers near the case suggested (a bank of thousands of handlers put
    # every one of them on every case page); any active handler of the bank is taken
    named_staff = SelectMultipleField(
        "投诉涉及的员工（回避）",
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description="取消勾选即移除该员工（撤销回避，须填写下方的移除理由）",
    )
    add_staff = StringField(
        "添加涉及的员工（回避：该员工不能处理本投诉）",
        validators=[Optional(), Length(max=200, message="内容过长"), Regexp(NO_NUL)],
        description="输入员工的用户名或姓名，多人用逗号分隔；列表中为本投诉所在分行及其上级机构"
        "的处理人员，其他机构的员工请输入其用户名或姓名。",
    )
    # A unit's code or full name, with the units near the case offered as a list (a bank of
    # 2,000 units put every one of them on every case page); any unit of the bank is taken.
    named_branch = StringField(
        "投诉涉及的机构（回避：该机构人员不能处理）",
        validators=[Optional(), Length(max=100, message="内容过长"), Regexp(NO_NUL)],
        description="输入机构代码或全称；列表中为本投诉所在分行的机构及其上级机构，"
        "其他分行的机构请输入其代码或全称。留空为未指明。",
    )
    major_reason = SelectField("重大投诉认定", choices=choices(MAJOR_REASON_LABELS.items(), "否"))
    # a forwarded case registered without the regulator's number (the API allows it): set once
    regulator_ref = StringField(
        "监管转办编号（补录）",
        validators=[Optional(), Length(max=100, message="不超过 100 个字符")],
        description="监管转办投诉登记时未带编号的，按转办函补录；补录后不能修改，记入处理记录",
    )
    # required by the service only when a name is taken off (it lifts a 回避)
    reason = TextAreaField(
        "移除涉及员工或机构的理由",
        validators=[Optional(), Length(max=500, message="内容过长")],
        description="添加涉及人员无须理由；移除涉及员工或机构（撤销回避）须填写理由，"
        "移除的人员、机构和理由记入处理记录和审计日志",
    )


class CloseForm(VersionedForm):
    code_channel = SelectField("A 渠道", choices=[])
    code_business = SelectField("B 业务类别", choices=[])
    code_cause = SelectField("C 投诉原因", choices=[])
    # required by the service, which reports it together with the codes and the notice (a
    # form-level check answered first alone, the codes only on the next submission)
    root_cause = text_area("问题根因（溯源整改）", required=False, max_len=2000)
    unreachable = BooleanField(
        "客户无法联系（已记录联系尝试）",
        description="须在作出处理决定后：投诉人留有手机号码或电子邮箱的，以短信、邮件告知且发送"
        "失败、已停止重试；均未留的，记录至少 3 次电话未能接通（每次间隔不少于 1 小时）",
    )


class MergeForm(VersionedForm):
    into = StringField(
        "并入投诉编号",
        validators=[DataRequired("请填写投诉编号"), Length(max=32)],
        description="填写受理编号（如 TS20261206-000928）。只能并入同一客户较早收到、且本投诉"
        "接收时仍在办理时限内的投诉；时限届满后收到的重复投诉请作为新投诉单独办理",
    )
    new_facts = BooleanField("重复投诉含有新的事实或理由（时限重新起算）")
    note = text_area("合并说明", max_len=2000)


class ReviewForm(VersionedForm):
    requested_on = DateField("客户提出核查申请的日期", validators=[DataRequired("请填写日期")])
    reason = text_area("核查申请事由", max_len=2000)


class RevealForm(BaseForm):
    reason = StringField(
        "查看事由",
        validators=[
            DataRequired("请填写查看事由"),
            Length(min=4, max=500, message="事由须为 4–500 个字"),
        ],
    )


def fill_codes(form) -> None:
    for name, dim in (("code_channel", "A"), ("code_business", "B"), ("code_cause", "C")):
        getattr(form, name).choices = code_choices(dim)
