"""registers of instruments and certificates, enterprise industry, research topics

Revision ID: 0008
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "research_topics",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "bureau_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("report_ids", sa.JSON(), nullable=False),
        sa.Column("enterprise_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "opened_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["bureau_id"], ["bureaus.id"], name=op.f("fk_research_topics_bureau_id_bureaus")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["people.id"], name=op.f("fk_research_topics_opened_by_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_topics")),
    )
    with op.batch_alter_table("research_topics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_research_topics_bureau_id"), ["bureau_id"], unique=False
        )

    op.create_table(
        "certificates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "enterprise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("issuing_body", sa.String(length=200), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column(
            "evidence_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reminded_stage", sa.String(length=16), nullable=True),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["people.id"], name=op.f("fk_certificates_created_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_certificates_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["attachments.id"],
            name=op.f("fk_certificates_evidence_id_attachments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index("ix_certificates_expires_on", ["expires_on"], unique=False)

    op.create_table(
        "instruments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "enterprise_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("serial_number", sa.String(length=100), nullable=True),
        sa.Column("certificate_number", sa.String(length=100), nullable=True),
        sa.Column("verifying_body", sa.String(length=200), nullable=True),
        sa.Column("cycle_months", sa.Integer(), nullable=True),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column(
            "evidence_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reminded_stage", sa.String(length=16), nullable=True),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["people.id"], name=op.f("fk_instruments_created_by_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_instruments_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"], ["attachments.id"], name=op.f("fk_instruments_evidence_id_attachments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
    )
    with op.batch_alter_table("instruments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_instruments_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index("ix_instruments_valid_until", ["valid_until"], unique=False)

    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("industry_code", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("industry_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("industry_name")
        batch_op.drop_column("industry_code")

    with op.batch_alter_table("instruments", schema=None) as batch_op:
        batch_op.drop_index("ix_instruments_valid_until")
        batch_op.drop_index(batch_op.f("ix_instruments_enterprise_id"))

    op.drop_table("instruments")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_certificates_expires_on")
        batch_op.drop_index(batch_op.f("ix_certificates_enterprise_id"))

    op.drop_table("certificates")
    with op.batch_alter_table("research_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_research_topics_bureau_id"))

    op.drop_table("research_topics")
