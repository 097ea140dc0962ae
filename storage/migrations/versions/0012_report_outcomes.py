"""report outcomes: 帮扶成效 recorded by the officer, confirmed or corrected by the enterprise

Revision ID: 0012
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "report_outcomes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "officer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("solved", sa.String(length=32), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("economic_yuan", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reviewed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["people.id"], name=op.f("fk_report_outcomes_officer_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_outcomes_report_id_reports")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["people.id"],
            name=op.f("fk_report_outcomes_reviewed_by_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_outcomes")),
        sa.UniqueConstraint("report_id", name=op.f("uq_report_outcomes_report_id")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("report_outcomes")
