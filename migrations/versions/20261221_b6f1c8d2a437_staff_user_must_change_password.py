"""staff_user.must_change_password: an administrator's password is changed at first sign-in

A new account's password, or one an administrator reset, was typed by someone else and stayed
the account's for as long as its holder liked. Accounts an administrator creates or resets on
the 员工账号 page now lead to 修改密码 at their next sign-in. Existing accounts are not affected.

Revision ID: b6f1c8d2a437
Revises: a3d9f7c2e581
Create Date: 2026-12-21 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b6f1c8d2a437"
down_revision = "a3d9f7c2e581"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_user") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("must_change_password")
