"""trigger_firing: one business event taken by one trigger rule for one customer

An integrator retrying ``POST /api/v1/events`` after a timeout sent the same event again, and
each copy scheduled its own call-back task (visit rules have no frequency cap). Each event a
rule acts on is now recorded once per (rule, customer, occurred_at), with what came of it; a
unique constraint makes a repeat schedule nothing, also when the copies arrive at once in
different workers. Events handled before this migration are not recorded.

Revision ID: c4e9a1f7b250
Revises: 8d2a6f4b1c57
Create Date: 2026-12-07 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4e9a1f7b250"
down_revision = "8d2a6f4b1c57"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "trigger_firing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("followup_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["trigger_rule.id"],
            name=op.f("fk_trigger_firing_rule_id_trigger_rule"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_trigger_firing_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_trigger_firing_invitation_id_invitation"),
        ),
        sa.ForeignKeyConstraint(
            ["followup_id"], ["followup.id"], name=op.f("fk_trigger_firing_followup_id_followup")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_firing")),
        sa.UniqueConstraint(
            "rule_id", "customer_id", "occurred_at", name=op.f("uq_trigger_firing_rule_id")
        ),
    )


def downgrade():
    op.drop_table("trigger_firing")
