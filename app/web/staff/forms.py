"""Staff forms."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.web.forms import BaseForm


class RevealForm(BaseForm):
    reason = StringField(
        "查看事由",
        validators=[
            DataRequired("请填写查看事由"),
            Length(min=4, max=500, message="事由须为 4–500 个字"),
        ],
    )
