"""Staff corrections of text-analysis labels (sentiment, business category, cause)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from wtforms import HiddenField, SelectChoice, SelectField
from wtforms.validators import DataRequired

import nlp
from app.models import Role
from app.models.analysis import SENTIMENT_LABELS
from app.services import analysis
from app.services.errors import NotFound, ServiceError
from app.web.access import roles_required
from app.web.auth.routes import safe_next
from app.web.forms import BaseForm
from app.web.staff import bp


class CorrectionForm(BaseForm):
    field = SelectField(
        "更正项",
        choices=[
            SelectChoice("sentiment", "情感倾向"),
            SelectChoice("business", "业务类别"),
            SelectChoice("cause", "投诉原因"),
        ],
    )
    value = SelectField("正确的标签", validators=[DataRequired("请选择正确的标签")])
    next = HiddenField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.value.choices = correction_choices()


def correction_choices() -> list[SelectChoice]:
    taxonomy = nlp.load_taxonomy()
    choices = [SelectChoice(k, v, optgroup="情感倾向") for k, v in SENTIMENT_LABELS.items()]
    for dim, group in (("B", "业务类别"), ("C", "投诉原因")):
        # The taxonomy's labels already start with the code ("B03.02 信用卡").
        choices += [
            SelectChoice(code, label, optgroup=group)
            for code, label in taxonomy.dimension(dim).choices()
        ]
    return choices


@bp.app_template_global()
def taxonomy_name(code: str | None) -> str:
    """The JR/T 0169 name of a code (a staff correction shows its own name, not the model's)."""
    entry = nlp.load_taxonomy().get(code) if code else None
    return entry.name if entry else ""


@bp.post("/analysis/<int:analysis_id>/correct")
@roles_required(Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)
def correct_analysis(analysis_id: int):
    form = CorrectionForm()
    back = safe_next(form.next.data) or url_for("staff.home")
    if form.validate_on_submit():
        try:
            analysis.correct_label(
                analysis_id, form.field.data, form.value.data, actor=current_user
            )
        except NotFound:
            raise  # another branch's analysis, or none: 404
        except ServiceError as err:
            flash(err.message, "error")
        else:
            flash("已更正分析标签，将用于模型再训练", "success")
    else:
        flash("请选择要更正的项目和正确的标签", "error")
    return redirect(back + ("#analysis" if "#" not in back else ""))


def correction_form(row=None) -> CorrectionForm:
    """A blank form for the analysis partial of ``row``, returning to the current page;
    ``corrected`` names the labels staff corrected (each marked as such)."""
    form = CorrectionForm(formdata=None, next=request.full_path.rstrip("?"))
    form.corrected = analysis.corrected_fields(row) if row is not None else set()
    form.history = analysis.corrections_of(row) if row is not None else []
    return form
