"""Request and response bodies of deposits."""

from __future__ import annotations

from datetime import datetime

from core.crm.models import (
    DepositKind,
    DepositStatus,
)
from core.schemas import (
    CurrencyCode,
    Id,
    Input,
    MoneyOut,
    MoneyOutput,
    Patch,
    PositiveAmount,
    ShortText,
)


class ManualDepositIn(Input):
    """A deposit entered by staff on a client's behalf (kind "manual")."""

    client_id: Id
    amount: PositiveAmount
    currency: CurrencyCode
    note: ShortText = ""


class DepositRequestIn(Input):
    """A deposit request made by the client in the portal (kind "request")."""

    amount: PositiveAmount
    currency: CurrencyCode
    note: ShortText = ""


class DepositUpdate(Patch):
    """Corrections to a deposit that is still pending."""

    amount: PositiveAmount | None = None
    currency: CurrencyCode | None = None
    note: ShortText | None = None


class DepositDecisionIn(Input):
    note: ShortText = ""


class DepositOut(MoneyOutput):
    id: int
    client_id: int
    amount: MoneyOut
    currency: str
    kind: DepositKind
    status: DepositStatus
    note: str
    created_by_user_id: int | None
    decided_by_user_id: int | None
    decided_at: datetime | None
    decision_note: str
    created_at: datetime
