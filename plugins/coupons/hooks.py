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


# --- pages (hook contract 1.4) --------------------------------------------------------------------


@hookimpl
def crm_templates():
    return Path(__file__).parent / "templates"


@hookimpl
def crm_backoffice_page_router():
    from plugins.coupons.pages import backoffice_pages

    return backoffice_pages


@hookimpl
def crm_portal_page_router():
    from plugins.coupons.pages import portal_pages

    return portal_pages


@hookimpl
def crm_backoffice_nav():
    return [
        {"id": "coupons", "label": "Coupons", "path": "/", "icon": "ticket", "permission": "coupons.read"},
        {
            "id": "promo_codes",
            "label": "Promo codes",
            "path": "/promo-codes",
            "icon": "tag",
            "permission": "coupons.read",
        },
    ]


@hookimpl
def crm_ui_slots():
    from plugins.coupons.pages import checkout_choices, my_coupons

    return [
        {"slot": "portal.notifications", "template": "coupons/notifications_tab.html", "context": my_coupons},
        {"slot": "portal.checkout", "template": "coupons/checkout_fields.html", "context": checkout_choices},
    ]
