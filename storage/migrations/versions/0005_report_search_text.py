"""report search text: reference, product and description as search tokens for /search;
on SQLite also an FTS5 index of them (report_search)

Revision ID: 0005
Revises: 0011

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from domain.search_text import searchable

SEARCH_INDEX = "report_search"

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
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
    if connection.dialect.name == "sqlite":
        # Kept up to date by storage.models (ORM events), not by triggers: a later batch
        # migration of "reports" recreates the table and would drop triggers silently.
        op.execute(f"CREATE VIRTUAL TABLE {SEARCH_INDEX} USING fts5(search_text)")
        op.execute(
            f"INSERT INTO {SEARCH_INDEX}(rowid, search_text) SELECT id, search_text FROM reports"
        )


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE {SEARCH_INDEX}")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("search_text")
