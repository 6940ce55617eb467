"""audit_log: index (object_type, object_id) for the entries about one record

The audit log's search (by a complaint's reference, a customer number, an object type and id)
and the link from a complaint's page read the entries about one record. Without an index that
meant reading the whole log, which grows by every sign-in; with it, only that record's entries.

Revision ID: a91c4e7d2b36
Revises: 7e3b9d2f4a18
Create Date: 2026-12-10 10:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a91c4e7d2b36"
down_revision = "7e3b9d2f4a18"
branch_labels = None
depends_on = None


def upgrade():
    # a plain CREATE INDEX: the append-only table is never copied (no batch recreate)
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])


def downgrade():
    op.drop_index("ix_audit_log_object", table_name="audit_log")
