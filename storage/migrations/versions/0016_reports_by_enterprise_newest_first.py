"""reports: one index for an enterprise's reports newest first (replaces the enterprise_id one)

/myreports sorted all of an enterprise's reports for each page: 1.8 ms a turn at 600 reports,
4.7 ms at 3,000 (bench/PROFILE-turn.md, "Third pass").

Revision ID: 0016
Revises: 0015

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_enterprise_submitted",
            ["enterprise_id", "submitted_at", "id"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_reports_enterprise_id"))


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.drop_index("ix_reports_enterprise_submitted")
