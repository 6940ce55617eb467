"""trigger_rule scope: a rule may take only the events of one unit's subtree, of one product or
product category, and act on a sample of them

A bank with one 贷款发放 event for every loan could only send every borrower the same survey:
a mortgage and a credit-card instalment asked the same questions, and every event of a busy
type was surveyed. ``branch_id`` (the unit and those below it), ``product_id`` or
``product_category``, and ``sample_percent`` (100 = every event) say which events a rule takes.

Revision ID: c5e9a2d7f318
Revises: a7c3e1f9b260
Create Date: 2026-12-16 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c5e9a2d7f318"
down_revision = "a7c3e1f9b260"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("trigger_rule") as batch:
        batch.add_column(sa.Column("branch_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("product_category", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("sample_percent", sa.Integer(), nullable=False, server_default="100")
        )
        batch.create_foreign_key(
            "fk_trigger_rule_branch_id_branch", "branch", ["branch_id"], ["id"]
        )
        batch.create_foreign_key(
            "fk_trigger_rule_product_id_product", "product", ["product_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("trigger_rule") as batch:
        batch.drop_constraint("fk_trigger_rule_product_id_product", type_="foreignkey")
        batch.drop_constraint("fk_trigger_rule_branch_id_branch", type_="foreignkey")
        batch.drop_column("sample_percent")
        batch.drop_column("product_category")
        batch.drop_column("product_id")
        batch.drop_column("branch_id")
