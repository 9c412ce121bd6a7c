"""The back-office dashboard's figures: what needs the staff member's attention, within their
permissions and data permissions (a figure they may not see is left out, not zeroed)."""

from __future__ import annotations

from dataclasses import dataclass

from core.context import Ctx
from core.crm.clients import ClientFilter, list_clients
from core.crm.deposits import list_deposits
from core.crm.kyc import list_documents
from core.crm.models import DepositStatus, KycDocumentStatus
from core.db.paging import PageRequest
from core.i18n import N_

_ONE = PageRequest(page=1, per_page=1)


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    href: str


def overview(ctx: Ctx) -> list[Figure]:
    principal = ctx.principal
    figures: list[Figure] = []
    if principal is None:
        return figures
    if principal.has("clients.read"):
        figures.append(
            Figure(N_("Clients"), list_clients(ctx, ClientFilter(), _ONE).total, "/backoffice/clients")
        )
    if principal.has("deposits.read"):
        pending = list_deposits(ctx, _ONE, status=DepositStatus.PENDING).total
        figures.append(
            Figure(N_("Deposits awaiting approval"), pending, "/backoffice/deposits?status=pending")
        )
    if principal.has("kyc.read"):
        pending = list_documents(ctx, _ONE, status=KycDocumentStatus.PENDING).total
        figures.append(Figure(N_("KYC documents to review"), pending, "/backoffice/kyc?status=pending"))
    return figures
