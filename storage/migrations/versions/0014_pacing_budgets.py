"""pacing budgets shared by every instance (bot/pacing.py)

Revision ID: 0014
Revises: 0013

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pacing_budgets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tat", sa.Float(precision=53), nullable=False),
        sa.Column("reserved_at", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pacing_budgets")),
    )


def downgrade() -> None:
    op.drop_table("pacing_budgets")
