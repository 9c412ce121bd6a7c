"""Step: the first morning's work after the modules were installed, through core's services, so
every module hears the events it would hear on a live broker (``crm_kyc_document_verified``,
``crm_deposit_approved``) and the demo shows what they did with them.

The compliance officer reviews the portal clients' pending KYC documents (verifies them), and the
team manager approves the pending deposits of those portal clients in their team. Nothing is drawn
from the random generator: the broker stays the same.
"""

from __future__ import annotations

from sqlalchemy import select

from core.access.models import PrincipalKind, Role, RolePermission, User, UserRole
from core.access.principal import Principal
from core.context import Ctx, bind
from core.crm.deposits import decide
from core.crm.kyc import review
from core.crm.models import Deposit, DepositStatus, KycDocument, KycDocumentStatus
from core.demo.context import DEMO_SEED, DemoContext
from core.demo.logins import DOMAIN
from core.demo.steps.clients import PORTAL_CLIENTS


def _acting_as(demo: DemoContext, login: str) -> Ctx:
    """A unit of work as the demo user ``login`` signed in, with their roles' permissions and data
    scope (so the services check them as they would a request)."""
    session = demo.session
    user = session.scalars(select(User).where(User.email == f"{login}@{DOMAIN}")).one()
    held = select(UserRole.role_id).where(UserRole.user_id == user.id)
    roles = list(session.scalars(select(Role).where(Role.id.in_(held))))
    permissions = session.scalars(
        select(RolePermission.permission).where(RolePermission.role_id.in_([role.id for role in roles]))
    )
    principal = Principal(
        kind=PrincipalKind.STAFF,
        id=user.id,
        tenant_id=demo.tenant_id,
        label=user.email,
        permissions=frozenset(permissions),
        data_scope=max((role.data_scope for role in roles), key=lambda scope: scope.breadth),
        user_id=user.id,
        team_id=user.team_id,
        is_admin=any(role.is_admin for role in roles),
    )
    return bind(session, principal, demo.runtime, DEMO_SEED)


def seed_activity(demo: DemoContext) -> None:
    portal_clients = demo.clients[:PORTAL_CLIENTS]
    session = demo.session
    compliance = _acting_as(demo, "compliance")
    documents = session.scalars(
        select(KycDocument.id)
        .where(
            KycDocument.client_id.in_([c.id for c in portal_clients]),
            KycDocument.status == KycDocumentStatus.PENDING,
        )
        .order_by(KycDocument.id)
    )
    for document_id in list(documents):
        review(compliance, document_id, verify=True, note="Checked against the original")
    manager = _acting_as(demo, "manager")
    in_team = [c.id for c in portal_clients if c.team_id == demo.manager.team_id]
    deposits = session.scalars(
        select(Deposit.id)
        .where(Deposit.client_id.in_(in_team), Deposit.status == DepositStatus.PENDING)
        .order_by(Deposit.id)
    )
    for deposit_id in list(deposits):
        decide(manager, deposit_id, approve=True, note="Funds received")
    session.info["principal"] = None
