"""The database tables, as typed SQLAlchemy models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from domain.commitments import CommitmentStatus
from domain.outcomes import OutcomeState, Solved
from domain.reports import ReportStatus, Urgency
from domain.roles import Party, Role
from domain.search_text import searchable
from storage.types import StrEnumType, UTCDateTime

# Named constraints so migrations agree on SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY, so ids are BIGINT only elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Bureau(Base):
    """The provincial bureau (city is None) or one city's bureau."""

    __tablename__ = "bureaus"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    city: Mapped[str | None] = mapped_column(String(50))
    is_province: Mapped[bool] = mapped_column(Boolean, default=False)


class Person(Base):
    """Anyone who talks to the bot: enterprise staff, officers, supervisors, admins."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    bureau_id: Mapped[int | None] = mapped_column(ForeignKey("bureaus.id"))
    # Indexed for the reminder sweep: an enterprise's contacts (migration 0002).
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(10))
    # Set by the person in /profile; shown to the other side of their reports (migration 0004).
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set by `qabot officer deactivate`: no codes, no notifications, no actions (migration 0007).
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    bureau: Mapped[Bureau | None] = relationship(lazy="joined")


class ChannelIdentity(Base):
    """A person's account on one channel; the last one used receives notifications."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the platform refuses delivery for good (e.g. the user blocked the bot).
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BindingCode(Base):
    """One-time codes bind officers; reusable, expiring codes bind an enterprise's staff."""

    __tablename__ = "binding_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    reusable: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BindingFailure(Base):
    """A wrong binding code tried from a chat account: the basis of the guessing limit."""

    __tablename__ = "binding_failures"
    __table_args__ = (
        Index("ix_binding_failures_channel_chat_id_at", "channel", "chat_id", "at"),
        Index("ix_binding_failures_channel_external_id_at", "channel", "external_id", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    bureau_id: Mapped[int] = mapped_column(ForeignKey("bureaus.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", use_alter=True), index=True
    )
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # GB/T 4754 national industry classification (e.g. "C3443", 阀门和旋塞制造); optional.
    industry_code: Mapped[str | None] = mapped_column(String(5))
    industry_name: Mapped[str | None] = mapped_column(String(100))

    bureau: Mapped[Bureau] = relationship(lazy="joined")


class Agreement(Base):
    """The assistance agreement between a bureau and one enterprise."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), unique=True)
    signed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The period and who signed for each side (migration 0011).
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, index=True)
    bureau_signatory: Mapped[str | None] = mapped_column(String(100))
    bureau_signatory_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    enterprise_signatory: Mapped[str | None] = mapped_column(String(100))
    # The end date each notice was sent for: a moved end date arms it again.
    expiry_noticed_for: Mapped[date | None] = mapped_column(Date)
    evaluation_opened_for: Mapped[date | None] = mapped_column(Date)


class AgreementEvaluation(Base):
    """One side's rating (评价) of the other side's commitments at the end of a period."""

    __tablename__ = "agreement_evaluations"
    __table_args__ = (UniqueConstraint("agreement_id", "period_ends_on", "party"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    period_ends_on: Mapped[date] = mapped_column(Date)
    # The side that rates; it rates the other side's commitments.
    party: Mapped[Party] = mapped_column(StrEnumType(Party))
    # {commitment id: 1..5}, saved at every press so a half-done evaluation can be resumed.
    ratings: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Commitment(Base):
    __tablename__ = "commitments"
    __table_args__ = (Index("ix_commitments_status_due_on", "status", "due_on"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    party: Mapped[Party] = mapped_column(StrEnumType(Party))
    text: Mapped[str] = mapped_column(Text)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[CommitmentStatus] = mapped_column(StrEnumType(CommitmentStatus))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    done_note: Mapped[str | None] = mapped_column(Text)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    sent_back_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ReportCounter(Base):
    """The last report number handed out per year; bumped atomically for references."""

    __tablename__ = "report_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Report(Base):
    """A quality problem reported by an enterprise."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_status_submitted_at", "status", "submitted_at"),
        # An enterprise's reports, newest first (/myreports): read a page, not sort them all.
        Index("ix_reports_enterprise_submitted", "enterprise_id", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    areas: Mapped[list[str]] = mapped_column(JSON)
    product: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[Urgency] = mapped_column(StrEnumType(Urgency))
    status: Mapped[ReportStatus] = mapped_column(StrEnumType(ReportStatus))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column(Integer)
    consultation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    solution: Mapped[str | None] = mapped_column(Text)
    research_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    research_reason: Mapped[str | None] = mapped_column(Text)
    research_target_on: Mapped[date | None] = mapped_column(Date)
    # The research team a supervisor names; the conclusion hands the report back to its
    # officer; a target date passed is escalated once (migration 0004).
    research_lead_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    research_team: Mapped[list[int] | None] = mapped_column(JSON)
    research_concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    research_overdue_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set once when the first response came too late and the supervisor was told.
    response_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    follow_up_nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Reference, product and description folded for /search (domain.search_text); kept
    # up to date on every write below.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


# SQLite's full-text index of Report.search_text (revision 0005; a virtual table, so not a
# model). PostgreSQL searches the column itself.
SEARCH_INDEX = "report_search"


@event.listens_for(Report, "before_insert")
@event.listens_for(Report, "before_update")
def _fold_search_text(_mapper: Mapper[Report], _connection: Connection, report: Report) -> None:
    report.search_text = searchable(report.reference, report.product, report.description)


@event.listens_for(Report, "after_insert")
@event.listens_for(Report, "after_update")
def _index_search_text(_mapper: Mapper[Report], connection: Connection, report: Report) -> None:
    if connection.dialect.name != "sqlite":
        return
    row = {"id": report.id, "text": report.search_text}
    connection.execute(sql_text(f"DELETE FROM {SEARCH_INDEX} WHERE rowid = :id"), row)
    connection.execute(
        sql_text(f"INSERT INTO {SEARCH_INDEX}(rowid, search_text) VALUES (:id, :text)"), row
    )


class ReportEvent(Base):
    """One step on a report's timeline."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Attachment(Base):
    """A photo or document; its bytes are in the file store, once per content hash."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    mime_type: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The channel it came in on and that platform's id for it: sending it back on the same
    # channel re-uses the id instead of uploading the bytes (migration 0004).
    source_channel: Mapped[str | None] = mapped_column(String(16))
    source_file_id: Mapped[str | None] = mapped_column(String(255))


class StoredFile(Base):
    """An attachment's bytes when the files are kept in the database (`QABOT_FILE_STORE=
    database`, storage/files.py): one row per content hash, shared by every instance."""

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    # bytea on PostgreSQL, BLOB on SQLite; at most MAX_FILE_BYTES (20 MB).
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A notification waiting to be delivered, delivered, or given up with a reason."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    # (person, kind, subject, day): a repeated sweep or a retry cannot queue a second copy.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    message: Mapped[dict[str, Any]] = mapped_column(JSON)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set (and committed) just before the send: after a crash, a claimed row without it
    # was never sent and goes back to the queue; one with it may have reached the person.
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConversationState(Base):
    """Where a chat is in a flow; saved every turn so a restart continues it."""

    __tablename__ = "conversation_states"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedUpdate(Base):
    """Platform update ids already handled, so a redelivery is handled once."""

    __tablename__ = "processed_updates"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The turn's replies, stored in its transaction (Reply.to_json each): if the process dies
    # before they are sent, the update is taken again and these are sent instead of re-running.
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class InboxUpdate(Base):
    """An update as received, stored before it is confirmed to the platform (storage/inbox.py).

    Taken per chat in `id` order; `done_at` is set once its turn ran. The unique `key` is the
    platform's update id, so a redelivery is stored once.
    """

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_done_at_id", "done_at", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who changed what, when: reports, commitments, bindings, master data."""

    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SweepRun(Base):
    """A reminder sweep that ran for a local day, so a missed day is caught up once."""

    __tablename__ = "sweep_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Instrument(Base):
    """A measuring instrument under compulsory verification (强制检定) in a register."""

    __tablename__ = "instruments"
    __table_args__ = (Index("ix_instruments_valid_until", "valid_until"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(100))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    certificate_number: Mapped[str | None] = mapped_column(String(100))
    verifying_body: Mapped[str | None] = mapped_column(String(200))
    cycle_months: Mapped[int | None] = mapped_column(Integer)
    verified_on: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # The photo of the verification certificate, kept as evidence.
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    # The last reminder threshold sent for this valid_until ("due", "overdue"); reset on renewal.
    reminded_stage: Mapped[str | None] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Certificate(Base):
    """A product or management-system certification certificate of an enterprise."""

    __tablename__ = "certificates"
    __table_args__ = (Index("ix_certificates_expires_on", "expires_on"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(100))
    issuing_body: Mapped[str | None] = mapped_column(String(200))
    expires_on: Mapped[date] = mapped_column(Date)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    # The last reminder threshold sent for this expiry ("90", "30", "7", "expired").
    reminded_stage: Mapped[str | None] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ResearchTopic(Base):
    """A common problem across enterprises (行业共性问题): proposed by the weekly cluster list,
    opened by a supervisor as a special research topic (专题研究) linking the reports."""

    __tablename__ = "research_topics"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    bureau_id: Mapped[int] = mapped_column(ForeignKey("bureaus.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    report_ids: Mapped[list[int]] = mapped_column(JSON)
    enterprise_ids: Mapped[list[int]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class CalendarEntry(Base):
    """A day the bureau declared a holiday or a working day; overrides the package's data."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(50))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportOutcome(Base):
    """帮扶成效: what the assistance on a closed report achieved (one per report; recording
    again replaces it, the thread keeps every version)."""

    __tablename__ = "report_outcomes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    solved: Mapped[Solved] = mapped_column(StrEnumType(Solved))
    # domain.outcomes.Measure values, in catalogue order.
    measures: Mapped[list[str]] = mapped_column(JSON)
    # The economic figure in whole yuan (万元 with two decimals is a whole number of yuan).
    economic_yuan: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[OutcomeState] = mapped_column(StrEnumType(OutcomeState))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    correction: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Lease(Base):
    """A named piece of work held by one instance until `expires_at` (storage/leases.py):
    a chat's inbox (`chat:<channel>:<chat id>`), the day's reminder sweep (`sweep:<date>`)."""

    __tablename__ = "leases"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PacingBudget(Base):
    """One pacing key shared by every instance (bot/pacing.py): the theoretical arrival time
    of its next message, and the moment of the last reservation, both in seconds since the
    epoch on the database's clock."""

    __tablename__ = "pacing_budgets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float(53))
    reserved_at: Mapped[float] = mapped_column(Float(53))
