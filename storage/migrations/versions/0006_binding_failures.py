"""binding failures: wrong codes per chat and account, for the guessing limit

Revision ID: 0006
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "binding_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_failures")),
    )
    with op.batch_alter_table("binding_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_binding_failures_channel_chat_id_at", ["channel", "chat_id", "at"], unique=False
        )
        batch_op.create_index(
            "ix_binding_failures_channel_external_id_at",
            ["channel", "external_id", "at"],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("binding_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_binding_failures_channel_external_id_at")
        batch_op.drop_index("ix_binding_failures_channel_chat_id_at")
    op.drop_table("binding_failures")
