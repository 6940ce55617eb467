"""Administration forms."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.models.user import ROLE_LABELS, Role
from app.security.passwords import password_problem
from app.services.errors import ServiceError
from app.services.tokens import SCOPES
from app.services.users import BRANCH_RULE, check_new_username
from app.web.forms import BaseForm
from app.web.table_upload import UploadForm


def _check_password(field) -> None:
    problem = password_problem(field.data or "") if field.data else None
    if problem:
        raise ValidationError(problem)


WHOLE_BANK = "*"  # (the branch field's value for none: no branch code starts with *)


class PlacementForm(BaseForm):
    """Name, role and branch: what a new account is given and what an administrator may
    change later (a transfer, a promotion)."""

    display_name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=100)])
    role = SelectField(
        "角色",
        choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()],
        default=Role.AGENT.value,
    )
    # Chosen every time: the form opened on the first 分行, and a head-office manager created
    # without touching the field was kept to that 分行 (an agent given its customers' data).
    branch = SelectField(
        "所属机构",
        description="坐席和机构负责人必须指定机构；总分行管理和系统管理员可选“全行（不指定机构）”。",
    )  # (WHOLE_BANK for none; required for some roles: validate_branch)

    def validate_branch(self, field) -> None:
        needs_unit = self.role.data in (Role.AGENT, Role.BRANCH_MANAGER)
        if needs_unit and field.data in ("", WHOLE_BANK):
            raise ValidationError(BRANCH_RULE)
        if not field.data:
            raise ValidationError("请选择所属机构（或“全行（不指定机构）”）")


class UserForm(PlacementForm):
    # (the user name first on the page: the fields are listed in the template)
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("初始密码", validators=[DataRequired("请输入初始密码")])

    # The service's own rules, checked here too so that every problem shows at once (the
    # service still checks them: it is also called from the CLI); a name already taken was
    # reported only once the rest had been put right, a round trip per fault.
    def validate_username(self, field) -> None:
        if not field.data:
            return
        try:
            check_new_username(field.data.strip())
        except ServiceError as err:
            raise ValidationError(err.message) from None

    def validate_password(self, field) -> None:
        _check_password(field)


class PasswordForm(BaseForm):
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码")])

    def validate_password(self, field) -> None:
        _check_password(field)


class TokenForm(BaseForm):
    name = StringField("令牌名称", validators=[DataRequired("请填写令牌名称"), Length(max=100)])
    scopes = SelectMultipleField(
        "权限范围",
        choices=[SelectChoice(code, label) for code, label in SCOPES.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class EmptyForm(BaseForm):
    """A form with only the CSRF token, for buttons that change state."""


class UsersUploadForm(UploadForm):
    file = FileField("员工账号文件（.csv 或 .xlsx）")
