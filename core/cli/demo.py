"""Demo data: a broker that looks real within seconds of ``crm serve --demo``.

The tenant ``demo`` gets staff in two sales teams whose roles show the three data permissions,
client groups, ranks with tiers, about 200 clients in a referral tree of IBs and traders, their
deposits (portal requests and manual entries, in every state), trading accounts, promotion
links, prop challenges and a few orders. Seeding is deterministic and runs once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select

from core.access.auth import set_password
from core.access.models import DataScope, Role, RolePermission, Team, User, UserRole
from core.crm.kyc import kyc_status_of
from core.crm.models import (
    Client,
    ClientGroup,
    ClientType,
    Deposit,
    DepositKind,
    DepositStatus,
    KycDocument,
    KycDocumentStatus,
    KycDocumentType,
    PromotionLink,
    PropChallenge,
    PropOrder,
    PropOrderStatus,
    Rank,
    Tier,
    TradingAccount,
    TradingPlatform,
)
from core.db.base import utcnow
from core.db.session import CrmSession
from core.runtime import Runtime
from core.tenancy.models import Tenant
from core.tenancy.schemas import OperatorIn, TenantIn
from core.tenancy.service import create_operator, create_tenant

SLUG = "demo"
PASSWORD = "Demo-Passw0rd!"
DOMAIN = "demo.example.com"
CLIENTS = 200

FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Marco",
    "Nadia",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yusuf",
]
LAST = [
    "Almeida",
    "Brandt",
    "Chen",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]
COUNTRIES = ["DE", "GB", "FR", "ES", "IT", "NL", "PL", "AE", "SG", "ZA", "BR", "MY"]


@dataclass(frozen=True)
class DemoLogins:
    tenant: str
    password: str
    operator: str
    staff: dict[str, str]  # role description -> email
    client: str


def logins() -> DemoLogins:
    return DemoLogins(
        tenant=SLUG,
        password=PASSWORD,
        operator=f"operator@{DOMAIN}",
        staff={
            "Administrator (every permission)": f"admin@{DOMAIN}",
            "Team manager (team data)": f"manager@{DOMAIN}",
            "Sales agent, team A (own clients)": f"agent.a@{DOMAIN}",
            "Sales agent, team B (own clients)": f"agent.b@{DOMAIN}",
            "Compliance (all data, KYC review)": f"compliance@{DOMAIN}",
        },
        client="client1@example.com",
    )


def seed_demo(runtime: Runtime, console: Console | None = None) -> DemoLogins:
    """Create the demo tenant unless it exists; return its logins either way."""
    with runtime.db.transaction(write=True) as session:
        if session.scalar(select(Tenant.id).where(Tenant.slug == SLUG)) is not None:
            return logins()
        session.info["actor_label"] = "demo seed"
        with Progress(console=console or Console(), transient=True) as progress:
            task = progress.add_task("Seeding the demo broker", total=9)
            _seed(session, runtime, random.Random(7), lambda: progress.advance(task))
            _install_modules(session, runtime)
            progress.advance(task)
    return logins()


def _install_modules(session: CrmSession, runtime: Runtime) -> None:
    """Every module this installation has, installed for the demo broker as its account manager
    would, each adding its demo records (``crm_demo_data``)."""
    from core.context import bind
    from core.marketplace.service import install
    from core.plugins.dispatch import call_lifecycle

    ctx = bind(session, None, runtime, "demo seed")
    for name in sorted(runtime.plugins.plugins):
        with session.begin_nested():
            install(ctx, name)
            call_lifecycle(ctx, name, "crm_demo_data")


def _seed(session: CrmSession, runtime: Runtime, rng: random.Random, step: Callable[[], None]) -> None:
    create_operator(
        session, OperatorIn(email=f"operator@{DOMAIN}", name="Account Manager", password=PASSWORD)
    )
    tenant, _admin = create_tenant(
        session,
        runtime,
        TenantIn(
            name="Demo Broker",
            slug=SLUG,
            timezone="Europe/London",
            base_currencies=["USD", "EUR"],
            admin_email=f"admin@{DOMAIN}",
            admin_password=PASSWORD,
            admin_name="Alex Admin",
        ),
    )
    tid = tenant.id
    step()

    team_a, team_b = Team(tenant_id=tid, name="Sales A"), Team(tenant_id=tid, name="Sales B")
    session.add_all([team_a, team_b])
    session.flush()
    read_work = [
        "clients.read",
        "clients.update",
        "deposits.read",
        "trading_accounts.read",
        "kyc.read",
        "prop.read",
        "notifications.read",
        "promotion_links.read",
        "client_groups.read",
        "ranks.read",
    ]
    roles = {
        "Team Manager": (
            DataScope.TEAM,
            [
                *read_work,
                "clients.create",
                "deposits.approve",
                "deposits.create",
                "notifications.send",
                "users.read",
                "teams.read",
            ],
        ),
        "Sales Agent": (DataScope.OWN, [*read_work, "clients.create", "deposits.create"]),
        "Compliance": (
            DataScope.ALL,
            ["clients.read", "kyc.read", "kyc.review", "deposits.read", "audit.read"],
        ),
    }
    role_rows = {}
    for name, (scope, permissions) in roles.items():
        role = Role(tenant_id=tid, name=name, data_scope=scope, description=f"Demo role: {scope.value} data")
        role.grants = [RolePermission(tenant_id=tid, permission=p) for p in sorted(set(permissions))]
        session.add(role)
        role_rows[name] = role
    session.flush()
    staff = []
    for email, name, role_name, team in [
        ("manager", "Morgan Manager", "Team Manager", team_a),
        ("agent.a", "Ada Agent", "Sales Agent", team_a),
        ("agent.b", "Bo Agent", "Sales Agent", team_b),
        ("compliance", "Casey Compliance", "Compliance", None),
    ]:
        user = User(tenant_id=tid, email=f"{email}@{DOMAIN}", name=name, team_id=team.id if team else None)
        set_password(session, user, PASSWORD)
        session.add(user)
        session.flush()
        session.add(UserRole(tenant_id=tid, user_id=user.id, role_id=role_rows[role_name].id))
        staff.append(user)
    agents = [staff[1], staff[2]]
    step()

    groups = [
        ClientGroup(tenant_id=tid, name=n, description=d)
        for n, d in [
            ("Standard", "Default group"),
            ("VIP", "High-value clients"),
            ("Islamic", "Swap-free accounts"),
        ]
    ]
    ib_rank = Rank(tenant_id=tid, name="IB", sort_order=1)
    trader_rank = Rank(tenant_id=tid, name="Trader", sort_order=2)
    session.add_all([*groups, ib_rank, trader_rank])
    session.flush()
    ib_tiers = [
        Tier(tenant_id=tid, rank_id=ib_rank.id, name=n, level=i)
        for i, n in enumerate(["Bronze", "Silver", "Gold", "Platinum"], start=1)
    ]
    trader_tiers = [
        Tier(tenant_id=tid, rank_id=trader_rank.id, name=n, level=i)
        for i, n in enumerate(["Starter", "Active", "Pro"], start=1)
    ]
    session.add_all([*ib_tiers, *trader_tiers])
    session.flush()
    step()

    clients: list[Client] = []
    ibs: list[Client] = []
    for n in range(1, CLIENTS + 1):
        # The first clients are top-level IBs; later ones join under an IB, going ever deeper.
        referrer = None if n <= 4 else rng.choice(ibs[-12:] if len(ibs) > 12 else ibs)
        is_ib = n <= 4 or (rng.random() < 0.2 and n < CLIENTS - 20)
        agent = rng.choice(agents)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        client = Client(
            tenant_id=tid,
            client_type=ClientType.IB if is_ib else ClientType.TRADER,
            name=f"{first} {last}",
            email=f"client{n}@example.com",
            phone=f"+44 20 7946 {n:04d}",
            country=rng.choice(COUNTRIES),
            language=rng.choice(["en", "en", "de", "fr", "es"]),
            group_id=rng.choice(groups).id,
            rank_id=ib_rank.id if is_ib else trader_rank.id,
            tier_id=(rng.choice(ib_tiers[:2]) if is_ib else rng.choice(trader_tiers[:2])).id,
            referrer_id=referrer.id if referrer else None,
            assigned_user_id=agent.id,
            team_id=agent.team_id,
            created_at=utcnow() - timedelta(days=rng.randint(1, 365)),
        )
        if n <= 5:
            set_password(session, client, PASSWORD)
        session.add(client)
        session.flush()
        clients.append(client)
        if is_ib:
            ibs.append(client)
    step()

    links = [
        PromotionLink(tenant_id=tid, code="WELCOME", name="Website sign-up", client_type=ClientType.TRADER),
        PromotionLink(
            tenant_id=tid,
            code="IBPARTNER",
            name="IB partner programme",
            client_type=ClientType.IB,
            referrer_id=ibs[0].id,
        ),
        PromotionLink(
            tenant_id=tid,
            code=f"IB{ibs[1].id}",
            name=f"{ibs[1].name}'s traders",
            client_type=ClientType.TRADER,
            referrer_id=ibs[1].id,
        ),
    ]
    session.add_all(links)
    session.flush()
    for client in clients[150:170]:
        client.promotion_link_id = links[2].id if client.referrer_id == ibs[1].id else links[0].id
    step()

    statuses = [DepositStatus.APPROVED] * 6 + [DepositStatus.PENDING] * 2 + [DepositStatus.REJECTED]
    for client in clients:
        for _ in range(rng.randint(1, 5)):
            status = rng.choice(statuses)
            kind = DepositKind.MANUAL if rng.random() < 0.15 else DepositKind.REQUEST
            deposit = Deposit(
                tenant_id=tid,
                client_id=client.id,
                currency=rng.choice(["USD", "USD", "EUR"]),
                kind=kind,
                amount=Decimal(rng.randrange(100, 500_000, 50)) / 100,
                status=status,
                created_by_user_id=client.assigned_user_id if kind is DepositKind.MANUAL else None,
            )
            if status is not DepositStatus.PENDING:
                deposit.decided_by_user_id = staff[0].id
                deposit.decided_at = utcnow() - timedelta(days=rng.randint(0, 30))
            session.add(deposit)
    step()

    for n, client in enumerate(clients, start=1):
        platform = rng.choice([TradingPlatform.MT4, TradingPlatform.MT5])
        session.add(
            TradingAccount(
                tenant_id=tid,
                client_id=client.id,
                platform=platform,
                login=str(700000 + n),
                account_type=rng.choice(["Standard", "Raw ECN", "Cent"]),
                currency=rng.choice(["USD", "EUR"]),
                leverage=rng.choice([100, 200, 500]),
            )
        )
        documents = []
        if rng.random() < 0.7:
            for doc_type in (KycDocumentType.PASSPORT, KycDocumentType.PROOF_OF_ADDRESS):
                status = rng.choice(
                    [KycDocumentStatus.VERIFIED] * 3 + [KycDocumentStatus.PENDING, KycDocumentStatus.REJECTED]
                )
                documents.append(
                    KycDocument(
                        tenant_id=tid,
                        client_id=client.id,
                        doc_type=doc_type,
                        file_name=f"{doc_type.value}-{client.id}.pdf",
                        status=status,
                    )
                )
        session.add_all(documents)
        client.kyc_status = kyc_status_of(documents)
    step()

    challenges = [
        PropChallenge(tenant_id=tid, name=name, description=desc, fee=Decimal(fee), currency="USD")
        for name, desc, fee in [
            ("Starter 10K", "One-step challenge on a 10,000 USD account.", "99.00"),
            ("Pro 50K", "Two-step challenge on a 50,000 USD account.", "299.00"),
            ("Elite 100K", "Two-step challenge on a 100,000 USD account.", "549.00"),
        ]
    ]
    session.add_all(challenges)
    session.flush()
    for client in clients[:30]:
        challenge = rng.choice(challenges)
        status = rng.choice(
            [PropOrderStatus.PAID, PropOrderStatus.PAID, PropOrderStatus.PLACED, PropOrderStatus.FAILED]
        )
        session.add(
            PropOrder(
                tenant_id=tid,
                client_id=client.id,
                challenge_id=challenge.id,
                list_price=challenge.fee,
                final_price=challenge.fee,
                currency=challenge.currency,
                status=status,
                status_changed_at=None if status is PropOrderStatus.PLACED else utcnow(),
                failure_reason="card declined" if status is PropOrderStatus.FAILED else "",
            )
        )
    session.flush()
    step()


def print_logins(console: Console, demo: DemoLogins, url: str) -> None:
    console.print(f"\n[bold]Demo logins[/bold] — password for every account: [bold]{demo.password}[/bold]")
    console.print(f"  Back office (tenant [bold]{demo.tenant}[/bold]): POST {url}/api/v1/auth/login")
    for role, email in demo.staff.items():
        console.print(f"    {email:<34} {role}")
    console.print(
        f"  Client portal: POST {url}/api/v1/portal/auth/login, tenant {demo.tenant}, {demo.client}"
    )
    console.print(f"  Platform (account manager): POST {url}/api/v1/platform/auth/login, {demo.operator}\n")
