"""Sign-in and change-password forms."""

from __future__ import annotations

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.web.forms import BaseForm


class LoginForm(BaseForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=256)])


class PasswordForm(BaseForm):
    current_password = PasswordField(
        "当前密码",
        validators=[DataRequired("请输入当前密码"), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "新密码",
        description="至少 10 个字符，包含大写字母、小写字母、数字和符号中的至少三类",
        validators=[DataRequired("请输入新密码"), Length(max=256)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "再次输入新密码",
        validators=[
            DataRequired("请再次输入新密码"),
            EqualTo("new_password", "两次输入的新密码不一致"),
        ],
        render_kw={"autocomplete": "new-password"},
    )
