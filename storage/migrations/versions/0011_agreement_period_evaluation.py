"""agreements: period, signatories, notices sent; agreement_evaluations (评价)

Revision ID: 0011
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("bureau_signatory", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("bureau_signatory_id", Id, nullable=True))
        batch_op.add_column(sa.Column("enterprise_signatory", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("expiry_noticed_for", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("evaluation_opened_for", sa.Date(), nullable=True))
        # The sweep looks for agreements ending within a month.
        batch_op.create_index(batch_op.f("ix_agreements_ends_on"), ["ends_on"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_agreements_bureau_signatory_id_people"),
            "people",
            ["bureau_signatory_id"],
            ["id"],
        )

    op.create_table(
        "agreement_evaluations",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement_id", Id, nullable=False),
        sa.Column("enterprise_id", Id, nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column("party", sa.String(length=32), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by_id", Id, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_evaluations_agreement_id_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_agreement_evaluations_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["people.id"],
            name=op.f("fk_agreement_evaluations_submitted_by_id_people"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_evaluations")),
        sa.UniqueConstraint(
            "agreement_id",
            "period_ends_on",
            "party",
            name=op.f("uq_agreement_evaluations_agreement_id"),
        ),
    )
    with op.batch_alter_table("agreement_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_evaluations_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agreement_evaluations_enterprise_id"), ["enterprise_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("agreement_evaluations")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_agreements_bureau_signatory_id_people"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_agreements_ends_on"))
        for column in (
            "evaluation_opened_for",
            "expiry_noticed_for",
            "enterprise_signatory",
            "bureau_signatory_id",
            "bureau_signatory",
            "ends_on",
            "starts_on",
        ):
            batch_op.drop_column(column)
