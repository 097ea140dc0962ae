"""report search text: a folded copy of reference, product and description for /search

Revision ID: 0005
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.search_text import searchable

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.create_index("ix_reports_submitted_at", ["submitted_at"], unique=False)
    reports = sa.table(
        "reports",
        sa.column("id", sa.Integer),
        sa.column("reference", sa.String),
        sa.column("product", sa.Text),
        sa.column("description", sa.Text),
        sa.column("search_text", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(reports.c.id, reports.c.reference, reports.c.product, reports.c.description)
    ).all()
    for row in rows:
        connection.execute(
            reports.update()
            .where(reports.c.id == row.id)
            .values(search_text=searchable(row.reference, row.product, row.description))
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_submitted_at")
        batch_op.drop_column("search_text")
