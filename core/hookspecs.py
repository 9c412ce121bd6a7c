"""The plugin contract of crm-marketplace (hook contract version 1.2).

A plugin is a Python distribution with an entry point in the group ``crm.plugins`` that names its
*hooks module*. Next to that module, in the same package, sits ``manifest.json`` (validated
against ``core/plugins/manifest.schema.json``; see ``docs/plugins.md``). The host loads the
module, checks it against this file, and calls the functions you mark with ``hookimpl``::

    # my_plugin/hooks.py
    from core.plugins import hookimpl

    @hookimpl
    def crm_backoffice_router():
        from my_plugin.routes import router
        return router

    @hookimpl
    def crm_deposit_approved(ctx, deposit):
        ...

Implement only the hooks you need; name only the arguments you use (the host passes arguments by
name). A misspelt hook name or argument stops your plugin from loading, and the marketplace
shows it as broken with the reason — the rest of the host keeps running.

Three kinds of hooks:

* **Registration** hooks are called once, when the host loads your plugin, with no tenant.
* **Lifecycle** and **event** hooks are called *for one tenant*, and only when your plugin is
  installed and enabled for that tenant. ``ctx`` is a ``core.context.Ctx``: its ``session`` is
  bound to the tenant (every query sees only that tenant's rows) and belongs to the transaction
  of the action that fired the event; ``ctx.principal`` is ``None`` (you act as the system, and
  the operation log names your plugin). Call core's public services with it
  (``core.crm.clients``, ``core.notify.service``, ``core.scheduler.service`` …).
* **Chained** hooks take part in an action and can stop it.

Failure isolation. An exception in an *event* hook is contained: your changes in that call are
rolled back (each call runs in its own savepoint), core's action and the other plugins'
handlers go ahead, and the failure is recorded (plugin, tenant, event, payload, error) in the
plugin-health view, from where it can be replayed after a fix (``crm events replay``). A
*chained* or *lifecycle* hook that raises fails the action it belongs to, with a clear error —
a price is never silently wrong.

Compatibility promise. Within a major version of the contract (``HOOKS_VERSION``), hooks are only
added, and new arguments are only ever added to existing hooks (which you may ignore, since you
name the arguments you take). A hook that is going away is first deprecated: pluggy warns when you
implement it (``warn_on_impl``), for at least one minor version. Declare the range you support in
your manifest (``"hooks": ">=1.0,<2"``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from fastapi import APIRouter

    from core.context import Ctx
    from core.crm.models import Client, Deposit, KycDocument, PromotionLink, PropChallenge, PropOrder
    from core.crm.pricing import Quote
    from core.scheduler.jobs import JobContext

PROJECT = "crm"
HOOKS_VERSION = "1.2"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

JobHandler = Callable[["JobContext"], None]


class CrmHooks:
    """Every hook a plugin may implement. Argument names are the contract."""

    # --- registration: called once at load, without a tenant ----------------------------------

    @hookspec
    def crm_backoffice_router(self) -> APIRouter | None:
        """Your back-office API, mounted at ``/api/v1/plugins/<name>/``.

        Every route must declare its access with ``core.api.deps.staff("<name>.<action>")`` (a
        permission from your manifest, or a core one): a route that declares none stops your
        plugin from loading. The host answers 404 for tenants without your plugin installed and
        enabled, before your code runs."""

    @hookspec
    def crm_portal_router(self) -> APIRouter | None:
        """Your client-portal API, mounted at ``/api/v1/portal/plugins/<name>/``. Routes declare
        ``core.api.deps.portal()``; the signed-in client is ``ctx.principal``."""

    @hookspec
    def crm_job_handlers(self) -> dict[str, JobHandler] | None:
        """A handler for each job type your manifest declares under ``jobs``. Schedule runs with
        ``core.scheduler.service.ensure_schedule``; each (schedule, period) runs exactly once
        across workers, and never for a tenant where your plugin is not enabled."""

    @hookspec
    def crm_migrations(self) -> str | Path | None:
        """The folder of your Alembic revisions (your own branch, whose first revision
        ``depends_on`` a core revision). ``crm db upgrade`` applies them. Name your tables
        ``<name>_…`` and give every row a tenant (``core.db.TenantOwned``)."""

    @hookspec
    def crm_portal_pages(self) -> list[dict[str, str]] | None:
        """Entries your plugin adds to the client portal's navigation: ``{"id", "label", "path"}``
        where ``path`` is relative to your portal router."""

    # --- lifecycle: one plugin, one tenant ------------------------------------------------------

    @hookspec
    def crm_installed(self, ctx: Ctx) -> None:
        """Your plugin was installed for ``ctx``'s tenant (also after a reinstall, when the data
        you kept is still there). Raising refuses the installation."""

    @hookspec
    def crm_uninstalled(self, ctx: Ctx, purge: bool) -> None:
        """Your plugin was uninstalled for the tenant. With ``purge`` False your data stays, for a
        reinstall; with True the host is about to delete the tenant's rows of your tables."""

    @hookspec
    def crm_enabled(self, ctx: Ctx) -> None:
        """Your plugin was enabled again for the tenant."""

    @hookspec
    def crm_disabled(self, ctx: Ctx) -> None:
        """Your plugin was disabled for the tenant: its routes answer 404, it receives no events
        and its jobs do not run until it is enabled again. Its data and settings stay."""

    @hookspec
    def crm_settings_changed(self, ctx: Ctx, old: dict[str, Any], new: dict[str, Any]) -> None:
        """The tenant changed your settings (validated against your manifest's settings schema).
        Secret values are included: do not log them."""

    @hookspec
    def crm_demo_data(self, ctx: Ctx) -> None:
        """Optional. The demo broker (``scripts/run``) was just seeded and your plugin installed
        for it: add a few records so a visitor sees your module at work. Use your own services;
        ``ctx`` acts as the system, on the demo tenant."""

    # --- domain events: every installed, enabled plugin of the tenant, each isolated ---------

    @hookspec
    def crm_client_registered(self, ctx: Ctx, client: Client, promotion_link: PromotionLink | None) -> None:
        """A client signed up in the portal; ``promotion_link`` is the link they came through."""

    @hookspec
    def crm_client_logged_in(self, ctx: Ctx, client: Client) -> None:
        """A client signed in to the portal."""

    @hookspec
    def crm_client_updated(self, ctx: Ctx, client: Client, changes: dict[str, tuple[Any, Any]]) -> None:
        """A client's rank, tier or group changed: ``changes`` maps each changed field
        (``rank_id``, ``tier_id``, ``group_id``) to ``(before, after)``."""

    @hookspec
    def crm_deposit_approved(self, ctx: Ctx, deposit: Deposit) -> None:
        """A deposit was approved."""

    @hookspec
    def crm_kyc_document_verified(self, ctx: Ctx, document: KycDocument) -> None:
        """A KYC document was verified; the client's ``kyc_status`` is already updated."""

    @hookspec
    def crm_order_paid(self, ctx: Ctx, order: PropOrder) -> None:
        """A prop-challenge order was paid."""

    @hookspec
    def crm_order_failed(self, ctx: Ctx, order: PropOrder) -> None:
        """A prop-challenge order's payment failed (``order.failure_reason`` says why)."""

    @hookspec
    def crm_order_cancelled(self, ctx: Ctx, order: PropOrder) -> None:
        """A placed prop-challenge order was cancelled."""

    # --- chained: part of an action; an exception fails the action ---------------------------

    @hookspec
    def crm_price_order(self, ctx: Ctx, client: Client, challenge: PropChallenge, quote: Quote) -> None:
        """Adjust the price of a prop challenge for a client. Read the checkout options you
        understand with ``quote.option("coupon_id")`` (an option no plugin reads is refused), and
        add adjustments with ``quote.adjust(source=..., code=..., label=..., amount=-discount)``;
        ``quote.current_price`` is the price so far. Plugins are called one after another in a
        stable order, each seeing the previous adjustments. ``quote.purpose`` is ``"offer"`` for the
        challenge list (you may apply your best automatic discount, e.g. the client's best coupon),
        ``"quote"`` for the options the client chose, and ``"order"`` when the order is placed."""

    @hookspec
    def crm_order_placing(self, ctx: Ctx, order: PropOrder, quote: Quote) -> None:
        """An order is being placed at ``quote``'s price, in the same transaction. Reserve what the
        price relied on (a coupon use); raise ``core.errors.DomainError`` to refuse the order."""

    # --- queries: every installed, enabled plugin of the tenant answers --------------------------

    @hookspec
    def crm_currency_in_use(self, ctx: Ctx, currency: str) -> list[str] | None:
        """Since 1.2. The tenant is about to stop using ``currency`` (an ISO 4217 code) as a base
        currency: describe each of your records that still relies on it, one short phrase each,
        naming the record as staff know it (``"tier upgrade rule 'Gold IB' (tier Silver)"``), or
        return an empty list. Any description refuses the change (409, listing them all); a
        failure refuses it too. Only read: do not change anything here."""

    # --- the client portal --------------------------------------------------------------------

    @hookspec
    def crm_portal_notification_counts(self, ctx: Ctx, client: Client) -> dict[str, int] | None:
        """Items of yours the portal's notification badge should count for this client, e.g.
        ``{"coupons": 2}``."""
