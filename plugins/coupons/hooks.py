"""How the host talks to Coupons and Promo Codes (the contract: core/hookspecs.py)."""

from __future__ import annotations

from pathlib import Path

from core.sdk import hookimpl


@hookimpl
def crm_backoffice_router():
    from plugins.coupons.routes import router

    return router


@hookimpl
def crm_portal_router():
    from plugins.coupons.routes import portal_router

    return portal_router


@hookimpl
def crm_migrations():
    return Path(__file__).parent / "migrations" / "versions"


@hookimpl
def crm_portal_pages():
    return [{"id": "coupons", "label": "Coupons", "path": "/coupons"}]


@hookimpl
def crm_demo_data(ctx):
    from plugins.coupons.service import seed_demo

    seed_demo(ctx)


@hookimpl
def crm_client_registered(ctx, client, promotion_link):
    """New sign-ups through a coupon's promotion links receive it, with its pop-up."""
    from plugins.coupons.service import grant_on_registration

    if promotion_link is not None:
        grant_on_registration(ctx, client, promotion_link)


@hookimpl
def crm_price_order(ctx, client, challenge, quote):
    from plugins.coupons.service import price

    price(ctx, client, challenge, quote)


@hookimpl
def crm_order_placing(ctx, order, quote):
    from plugins.coupons.service import reserve

    reserve(ctx, order, quote)


@hookimpl
def crm_order_paid(ctx, order):
    from plugins.coupons.service import settle

    settle(ctx, order, paid=True)


@hookimpl
def crm_order_failed(ctx, order):
    from plugins.coupons.service import settle

    settle(ctx, order, paid=False)


@hookimpl
def crm_order_cancelled(ctx, order):
    from plugins.coupons.service import settle

    settle(ctx, order, paid=False)


@hookimpl
def crm_currency_in_use(ctx, currency):
    from plugins.coupons.service import currency_uses

    return currency_uses(ctx, currency)


@hookimpl
def crm_portal_notification_counts(ctx, client):
    from plugins.coupons.service import usable_count

    return {"coupons": usable_count(ctx, client.id)}
