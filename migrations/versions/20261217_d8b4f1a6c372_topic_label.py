"""dashboard_topic_label: staff names for discovered topics, and topics hidden from dashboards

A topic was labelled only by its top three terms, and a topic of greetings or of the survey's
own wording stood among the real ones. Head office names a topic or hides it; a label moves to
the same topic found again by the next discovery (``app.services.topic_labels``).

Revision ID: d8b4f1a6c372
Revises: c5e9a2d7f318
Create Date: 2026-12-17 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8b4f1a6c372"
down_revision = "c5e9a2d7f318"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dashboard_topic_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["dashboard_topic_model.id"],
            name=op.f("fk_dashboard_topic_label_model_id_dashboard_topic_model"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_user.id"],
            name=op.f("fk_dashboard_topic_label_updated_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_topic_label")),
        sa.UniqueConstraint("model_id", "topic_id", name=op.f("uq_dashboard_topic_label_model_id")),
    )
    with op.batch_alter_table("dashboard_topic_label", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dashboard_topic_label_model_id"), ["model_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("dashboard_topic_label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_topic_label_model_id"))
    op.drop_table("dashboard_topic_label")
