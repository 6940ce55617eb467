"""Staff forms."""

from __future__ import annotations

from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.services.customers import OPT_OUT_CHANNELS
from app.web.forms import BaseForm


class RevealForm(BaseForm):
    reason = StringField(
        "查看事由",
        validators=[
            DataRequired("请填写查看事由"),
            Length(min=4, max=500, message="事由须为 4–500 个字"),
        ],
    )


class _Channels(SelectMultipleField):
    """Checkboxes of channels; a value not offered gets a Chinese message (wtforms' own
    translation of it is marked fuzzy and shows in English)."""

    def pre_validate(self, form) -> None:
        offered = {choice.value for choice in self.iter_choices()}
        if any(value not in offered for value in self.data or ()):
            raise ValidationError("请只勾选列出的渠道")


class OptOutForm(BaseForm):
    everything = BooleanField("退订全部满意度调查")
    channels = _Channels(
        "只退订以下渠道",
        choices=[SelectChoice(k, v) for k, v in OPT_OUT_CHANNELS.items()],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[Optional()],
    )
    note = StringField(
        "依据（如：短信回复 TD，2026-12-05）",
        validators=[Optional(), Length(max=500, message="依据最多 500 个字")],
    )
