"""Forms of the branch tree and the product catalogue pages."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.models.org import BRANCH_CODE_RE, BRANCH_KIND_LABELS, PRODUCT_CATEGORY_LABELS, BranchKind
from app.services.org_branches import (
    CODE_RULE,
    MAX_COUNT,
    clean_code,
    placement_problem,
)
from app.web.forms import BaseForm
from app.web.table_upload import UploadForm

KIND_CHOICES = [SelectChoice(k.value, label) for k, label in BRANCH_KIND_LABELS.items()]
CATEGORY_CHOICES = [SelectChoice(c.value, label) for c, label in PRODUCT_CATEGORY_LABELS.items()]


class BranchFieldsForm(BaseForm):
    """What an administrator may change of a unit; its code and parent are set elsewhere."""

    name = StringField("机构名称", validators=[DataRequired("请填写机构名称"), Length(max=100)])
    kind = SelectField("机构层级", choices=KIND_CHOICES, default=BranchKind.SUB_BRANCH.value)
    city = StringField("城市", validators=[Optional(), Length(max=50)])
    address = StringField("地址", validators=[Optional(), Length(max=200)])


class BranchEditForm(BranchFieldsForm):
    customer_count = IntegerField(
        "登记客户数",
        validators=[Optional(), NumberRange(0, MAX_COUNT, "登记客户数应为非负整数")],
        description="本机构自身（不含下级机构）的客户总数，为看板“每万客户投诉”的分母；留空为未登记。",
    )


class BranchForm(BranchFieldsForm):
    code = StringField(
        "机构代码",
        validators=[DataRequired("请填写机构代码"), Length(max=32)],
        description="大写字母、数字和连字符，如 HZ05。创建后不能修改：接口和导入文件用它指代机构。",
    )
    parent = SelectField("上级机构", description="只有总行没有上级机构。")

    # (named with the form's other faults; the service checks them again, with the rest)
    def validate_code(self, field) -> None:
        if field.data and not BRANCH_CODE_RE.match(clean_code(field.data)):
            raise ValidationError(CODE_RULE)

    def validate_parent(self, field) -> None:
        if not field.data and (problem := placement_problem(self.kind.data, None)):
            raise ValidationError(problem)


class MoveForm(BaseForm):
    parent = SelectField("新的上级机构")


class ProductFieldsForm(BaseForm):
    name = StringField("产品名称", validators=[DataRequired("请填写产品名称"), Length(max=100)])
    category = SelectField("产品类别", choices=CATEGORY_CHOICES)


class ProductForm(ProductFieldsForm):
    code = StringField(
        "产品代码",
        validators=[DataRequired("请填写产品代码"), Length(max=32)],
        description="大写字母、数字、点、下划线和连字符，如 CREDIT-GOLD。创建后不能修改。",
    )


class BranchUploadForm(UploadForm):
    file = FileField("机构文件（.csv 或 .xlsx）")


class ProductUploadForm(UploadForm):
    file = FileField("产品文件（.csv 或 .xlsx）")
