"""The demo broker's leads: a few at different points, one Registered."""

from __future__ import annotations

from core.sdk import ClientType, Ctx
from plugins.leads import conversion, service
from plugins.leads.models import LeadStatus
from plugins.leads.schemas import LeadIn, TagIn

LEADS = [
    ("Ana Souza", "ana.souza@example.com", "+55 11 91234 5678", "BR", "webinar", LeadStatus.INTENTION),
    ("Marek Nowak", "marek.nowak@example.com", "+48 512 345 678", "PL", "website", LeadStatus.FOLLOWED_UP),
    ("Chen Wei", "chen.wei@example.com", "+86 139 1234 5678", "CN", "event", LeadStatus.NOT_FOLLOWED_UP),
    ("Fatima Khan", "fatima.khan@example.com", "+971 50 123 4567", "AE", "referral", LeadStatus.NO_RESPONSE),
]


def seed_demo(ctx: Ctx) -> None:
    hot = service.create_tag(ctx, TagIn(name="Hot", colour="#dc2626"))
    made = [
        service.create_lead(
            ctx,
            LeadIn(
                name=name,
                email=email,
                phone=phone,
                country=country,
                source=source,
                status=status,
                tag_ids=[hot.id] if status is LeadStatus.INTENTION else [],
            ),
        )
        for name, email, phone, country, source, status in LEADS
    ]
    conversion.send_registration_email(ctx, made[1].id, ClientType.TRADER)
