"""the case thread: a person's phone, and where an attachment came in

Revision ID: 0004
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("source_file_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("source_file_id")
        batch_op.drop_column("source_channel")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("phone")
