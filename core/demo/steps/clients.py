"""Step: about 200 clients in a referral tree of IBs and traders, spread over the sales agents,
groups and tiers; the first few can sign in to the portal."""

from __future__ import annotations

from datetime import timedelta

from core.access.auth import set_password
from core.crm.models import Client, ClientType
from core.db.base import utcnow
from core.demo.context import DemoContext
from core.demo.logins import PASSWORD

CLIENTS = 200
TOP_LEVEL_IBS = 4
PORTAL_CLIENTS = 5  # client1@example.com … client5@example.com have the demo password

FIRST_NAMES = [
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
LAST_NAMES = [
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
LANGUAGES = ["en", "en", "de", "fr", "es"]  # English twice: most clients read it


def seed_clients(demo: DemoContext) -> None:
    rng = demo.rng
    ibs: list[Client] = []
    for n in range(1, CLIENTS + 1):
        # The first clients are top-level IBs; later ones join under one of the newest IBs, so the
        # tree keeps growing deeper. The last twenty are all traders.
        referrer = None if n <= TOP_LEVEL_IBS else rng.choice(ibs[-12:])
        is_ib = n <= TOP_LEVEL_IBS or (rng.random() < 0.2 and n < CLIENTS - 20)
        client_type = ClientType.IB if is_ib else ClientType.TRADER
        agent = rng.choice(demo.sales_agents)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        client = Client(
            tenant_id=demo.tenant_id,
            client_type=client_type,
            name=f"{first} {last}",
            email=f"client{n}@example.com",
            phone=f"+44 20 7946 {n:04d}",
            country=rng.choice(COUNTRIES),
            language=rng.choice(LANGUAGES),
            group_id=rng.choice(demo.groups).id,
            rank_id=demo.ranks[client_type].id,
            tier_id=rng.choice(demo.tiers[client_type][:2]).id,  # one of the two lowest tiers
            referrer_id=referrer.id if referrer else None,
            assigned_user_id=agent.id,
            team_id=agent.team_id,
            created_at=utcnow() - timedelta(days=rng.randint(1, 365)),
        )
        if n <= PORTAL_CLIENTS:
            set_password(demo.session, client, PASSWORD)
        demo.session.add(client)
        demo.session.flush()
        demo.clients.append(client)
        if is_ib:
            ibs.append(client)
