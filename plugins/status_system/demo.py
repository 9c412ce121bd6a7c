"""The demo broker's ladder: KYC onboarding at the bottom, loyalty statuses on top, and clients
spread over it by the rules, with a floor, a lock and a status given by hand.

One ladder per broker, so onboarding and loyalty share it: Registered (everyone at first) →
Documents started (a verified document) → Verified (KYC complete) → Silver → Gold (deposits), and
VIP, given by hand only. Every client's status then comes from the rules (``standing.recompute``,
what the events and the nightly batch call), and staff's actions go through ``standing.assign``:
so each client's history shows how they got there and why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from core.sdk import Client, Ctx, utcnow
from plugins.status_system.models import Standing
from plugins.status_system.schemas import StatusIn
from plugins.status_system.service import create_status, list_statuses
from plugins.status_system.standing import assign, recompute

DOCUMENTS = "kyc_documents_verified"  # core's metric: the types of the verified KYC documents
IDENTITY = ["passport", "id_card", "driving_licence"]  # core's identity documents
VERIFIED = {"metric": "kyc_status", "operator": "in", "value": ["verified"]}


def _deposits(amount: int, currency: str, **extra: Any) -> dict[str, Any]:
    return {"metric": "deposits_sum", "operator": ">=", "value": amount, "currency": currency, **extra}


# Name, caption, what it means and grants (the client's "status details"), colour, icon, criteria
# (None: by hand only), shown to clients. Lowest first. The broker's currencies are USD and EUR:
# deposits in either count, each against its own threshold (amounts are never converted).
LADDER: list[dict[str, Any]] = [
    {
        "name": "Registered",
        "caption": "Welcome aboard",
        "description": "You have an account. Upload an identity document (passport, ID card or "
        "driving licence) to start your verification: each verified document brings you closer "
        "to trading.",
        "grants": "Demo accounts and the market analysis feed.",
        "colour": "#6b7280",
        "icon": "person",
        "criteria": None,
    },
    {
        "name": "Documents started",
        "caption": "Your verification is under way",
        "description": "At least one of your documents is verified. Complete your verification "
        "with an identity document and a proof of address (a utility bill or bank statement "
        "less than three months old).",
        "grants": "Everything in Registered, and live chat with our onboarding team.",
        "colour": "#0ea5e9",
        "icon": "document",
        "criteria": {
            "metric": DOCUMENTS,
            "operator": "includes_any",
            "value": [*IDENTITY, "proof_of_address", "selfie"],
        },
    },
    {
        "name": "Verified",
        "caption": "Ready to trade",
        "description": "Your identity and address are verified: you can deposit, open live "
        "accounts and withdraw. Deposit USD 1,000 or EUR 1,000 to reach Silver.",
        "grants": "Live trading accounts, deposits and withdrawals.",
        "colour": "#16a34a",
        "icon": "shield",
        # Core's rule for a verified client, spelled out, so the checklist names what is missing
        # ("still missing: Proof of address") and the bar fills a step per document.
        "criteria": {
            "all": [
                {"metric": DOCUMENTS, "operator": "includes_any", "value": IDENTITY},
                {"metric": DOCUMENTS, "operator": "includes_all", "value": ["proof_of_address"]},
                VERIFIED,
            ]
        },
    },
    {
        "name": "Silver",
        "caption": "An active trader",
        "description": "Verified, with at least USD 1,000 or EUR 1,000 of approved deposits. "
        "Reach USD 10,000 or EUR 10,000 in total, or USD 5,000 within 90 days, for Gold.",
        "grants": "Deposits without fees and a weekly market briefing.",
        "colour": "#94a3b8",
        "icon": "star",
        "criteria": {
            "all": [
                VERIFIED,
                {"any": [_deposits(1000, "USD"), _deposits(1000, "EUR")]},
            ]
        },
    },
    {
        "name": "Gold",
        "caption": "One of our best traders",
        "description": "Verified, with at least USD 10,000 or EUR 10,000 of approved deposits, or "
        "USD 5,000 within the last 90 days.",
        "grants": "Everything in Silver, a 10% deposit bonus, tighter spreads on Raw ECN "
        "accounts and priority withdrawals.",
        "colour": "#ca8a04",
        "icon": "trophy",
        "criteria": {
            "all": [
                VERIFIED,
                {
                    "any": [
                        _deposits(10_000, "USD"),
                        _deposits(10_000, "EUR"),
                        _deposits(5_000, "USD", window_days=90),
                    ]
                },
            ]
        },
    },
    {
        "name": "VIP",
        "caption": "By invitation",
        "description": "Our most valued clients, by invitation of your account manager.",
        "grants": "Everything in Gold, a personal account manager, no-commission deposits and "
        "invitations to our events.",
        "colour": "#7c3aed",
        "icon": "gift",
        # Shown to those who hold it (it names what they are granted); no rule reaches it, so it
        # is never anyone's "next" status in the portal's progress bar.
        "criteria": None,
    },
]


def seed_demo(ctx: Ctx) -> None:
    if list_statuses(ctx):  # the broker has a ladder already: leave it
        return
    statuses = {entry["name"]: create_status(ctx, StatusIn.model_validate(entry)) for entry in LADDER}
    clients = list(ctx.session.scalars(select(Client.id).order_by(Client.id)))
    # Every client's status from the rules, as the nightly batch would decide it.
    recompute(ctx, clients)
    names = {status.id: name for name, status in statuses.items()}
    held = dict.fromkeys(clients, "Registered")  # a client without a standing holds the lowest
    for client_id, status_id in ctx.session.execute(select(Standing.client_id, Standing.status_id)):
        held[client_id] = names[status_id]

    def first(status: str, skip: set[int]) -> int | None:
        return next((c for c in clients[5:] if held[c] == status and c not in skip), None)

    chosen: set[int] = set()
    now = utcnow()
    # A floor: a client who moved from a partner broker keeps at least Silver for a quarter.
    floor = first("Registered", chosen) or first("Documents started", chosen)
    if floor is not None:
        chosen.add(floor)
        assign(ctx, floor, statuses["Silver"].id, "floor", "Silver at our partner broker: kept for 90 days",
               now + timedelta(days=90))  # fmt: skip
    # A lock: compliance freezes a Gold client at Verified while the source of their funds is checked.
    lock = first("Gold", chosen)
    if lock is not None:
        chosen.add(lock)
        assign(ctx, lock, statuses["Verified"].id, "lock", "Source of funds under review",
               now + timedelta(days=30))  # fmt: skip
    # By hand: the account manager invites a Gold client to VIP.
    vip = first("Gold", chosen)
    if vip is not None:
        assign(ctx, vip, statuses["VIP"].id, "once", "Top depositor: invited to VIP")
