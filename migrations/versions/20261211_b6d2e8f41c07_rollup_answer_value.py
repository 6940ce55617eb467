"""rollup_answer_value: how often each answer was given, per day x branch x survey (问卷结果)

Each choice option chosen, scale point given and question answered, with week and month rows
like the other rollups, so the 问卷结果 dashboard reads a few thousand rows over any range. An
installation upgraded from before holds none for its past answers until
``flask --app wsgi dashboards rebuild`` (new answers count as they come).

Revision ID: b6d2e8f41c07
Revises: a91c4e7d2b36
Create Date: 2026-12-11 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b6d2e8f41c07"
down_revision = "a91c4e7d2b36"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rollup_answer_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=1), server_default="d", nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=130), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["branch.id"], name=op.f("fk_rollup_answer_value_branch_id_branch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_answer_value")),
    )
    with op.batch_alter_table("rollup_answer_value", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rollup_answer_value_branch_id"), ["branch_id"], unique=False
        )
        batch_op.create_index(
            "ix_rollup_answer_value_survey_period_day",
            ["survey_id", "period", "day"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("rollup_answer_value", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_answer_value_survey_period_day")
        batch_op.drop_index(batch_op.f("ix_rollup_answer_value_branch_id"))
    op.drop_table("rollup_answer_value")
