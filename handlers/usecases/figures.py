"""Fulfilment figures per enterprise, shared by /stats and the export workbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.commitments import CommitmentStatus, counts_toward_fulfilment, is_overdue
from storage.models import Commitment, Enterprise


@dataclass
class Fulfilment:
    enterprise: str
    commitments: int = 0
    # Due by today, or confirmed early: the ones the rate is about.
    judged: int = 0
    confirmed: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float | None:
        return self.confirmed / self.judged if self.judged else None


async def fulfilment_by_enterprise(
    session: AsyncSession, scope: ColumnElement[bool], today: date
) -> dict[int, Fulfilment]:
    rows = await session.execute(
        select(Enterprise.id, Enterprise.name, Commitment.status, Commitment.due_on)
        .join(Commitment, Commitment.enterprise_id == Enterprise.id)
        .where(scope)
    )
    figures: dict[int, Fulfilment] = {}
    for enterprise_id, name, status, due_on in rows:
        figure = figures.setdefault(enterprise_id, Fulfilment(name))
        figure.commitments += 1
        figure.judged += counts_toward_fulfilment(status, due_on, today)
        figure.confirmed += status is CommitmentStatus.CONFIRMED
        figure.overdue += is_overdue(status, due_on, today)
    return figures
