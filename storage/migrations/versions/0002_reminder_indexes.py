"""reminder indexes: an enterprise's contacts for the daily sweep

Revision ID: 0002
Revises: 0001

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # The sweep looks up the bound contacts of the enterprises with due commitments;
    # without this index that is a scan of every person (bench/RESULTS-reminders.md).
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_people_enterprise_id"), ["enterprise_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_enterprise_id"))
