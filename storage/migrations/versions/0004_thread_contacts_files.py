"""the case thread: a person's phone, where an attachment came in, the research team

Revision ID: 0004
Revises: 0007

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("source_file_id", sa.String(length=255), nullable=True))
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "research_lead_id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("research_team", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("research_concluded_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("research_overdue_escalated_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_reports_research_lead_id_people"), "people", ["research_lead_id"], ["id"]
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_reports_research_lead_id_people"), type_="foreignkey"
        )
        batch_op.drop_column("research_overdue_escalated_at")
        batch_op.drop_column("research_concluded_at")
        batch_op.drop_column("research_team")
        batch_op.drop_column("research_lead_id")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("source_file_id")
        batch_op.drop_column("source_channel")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("phone")
