"""The hooks: every one a plugin may implement, grouped by kind. Argument names are the contract.

Each hook's kind is declared by its decorator (``@event`` …) and says who calls it and what a
failure does; the host's dispatch functions refuse to call a hook as another kind.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from core.contract.values import (
    ClientMetric,
    ClientSegment,
    DeferredHandler,
    Invitation,
    JobHandler,
    LeadConversion,
    NavEntry,
    PortalPage,
    Quote,
    SlotContribution,
    StatusChange,
)

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy import Select

    from core.context import Ctx
    from core.crm.models import (
        Client,
        Deposit,
        KycDocument,
        PromotionLink,
        PropChallenge,
        PropOrder,
        TradingAccount,
    )

PROJECT = "crm"
HOOKS_VERSION = "1.7"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class HookKind(enum.Enum):
    REGISTRATION = "registration"
    LIFECYCLE = "lifecycle"
    EVENT = "event"
    CHAINED = "chained"
    QUERY = "query"

    @property
    def rules(self) -> str:
        """Who calls a hook of this kind, and what a failure does."""
        return _RULES[self]


_RULES = {
    HookKind.REGISTRATION: "Called once, when the host loads your plugin, with no tenant. A failure stops "
    "your plugin from loading (the marketplace shows it as broken, with the reason).",
    HookKind.LIFECYCLE: "Called for one tenant about your own plugin's state there. Raising refuses the "
    "change: nothing is changed.",
    HookKind.EVENT: "Something happened in one tenant: every installed, enabled plugin is told, each "
    "isolated (in a savepoint begun when it first reaches the database). A failure undoes only that "
    "handler's changes, is recorded in the plugin-health "
    "view (`GET /api/v1/marketplace/failures`, `crm events failures`) and can be replayed after a fix "
    "(`crm events replay`).",
    HookKind.CHAINED: "Part of an action: plugins are called one after another in a stable order (by "
    "name), each seeing the previous ones' work. Raising fails the whole action: a `DomainError` with "
    "your reason, any other exception as `503 module_failed` — never a silently wrong result.",
    HookKind.QUERY: "A question to every enabled plugin of the tenant; the answers are collected. Only "
    "read. A failure is recorded and your answer left out, except where a missing answer would wrongly "
    "allow an action: then it refuses the action (`503 module_failed`), as the hook says.",
}


Hook = TypeVar("Hook", bound=Callable[..., Any])


def _declare(kind: HookKind) -> Callable[[Hook], Hook]:
    def mark(function: Hook) -> Hook:
        function.crm_kind = kind  # type: ignore[attr-defined]
        return hookspec(function)

    return mark


registration = _declare(HookKind.REGISTRATION)
lifecycle = _declare(HookKind.LIFECYCLE)
event = _declare(HookKind.EVENT)
chained = _declare(HookKind.CHAINED)
query = _declare(HookKind.QUERY)


def announced_by(module: str) -> Callable[[Hook], Hook]:
    """An event that a module announces (``core.sdk.announce``) rather than core: declared here so
    that any plugin can consume it without importing the module that announces it."""

    def mark(function: Hook) -> Hook:
        function.crm_announced_by = module  # type: ignore[attr-defined]
        return function

    return mark


class CrmHooks:
    """Every hook a plugin may implement. Argument names are the contract."""

    # --- registration: called once at load, without a tenant ----------------------------------

    @registration
    def crm_backoffice_router(self) -> APIRouter | None:
        """Your back-office API, mounted at ``/api/v1/plugins/<name>/``.

        Every route must declare its access with ``core.sdk.staff("<name>.<action>")`` (a
        permission from your manifest, or a core one): a route that declares none stops your
        plugin from loading. The host answers 404 for tenants without your plugin installed and
        enabled, before your code runs."""

    @registration
    def crm_portal_router(self) -> APIRouter | None:
        """Your client-portal API, mounted at ``/api/v1/portal/plugins/<name>/``. Routes declare
        ``core.sdk.portal()``; the signed-in client is ``ctx.principal``."""

    @registration
    def crm_job_handlers(self) -> dict[str, JobHandler] | None:
        """A handler for each job type your manifest declares under ``jobs``. Schedule runs with
        ``core.sdk.ensure_schedule``; each (schedule, period) runs exactly once
        across workers, and never for a tenant where your plugin is not enabled."""

    @registration
    def crm_deferred_handlers(self) -> dict[str, DeferredHandler] | None:
        """Since 1.7. A handler for each task you hand to ``core.sdk.defer(ctx, "<name>", task,
        key)``: work an event asks for, done once the event's unit of work commits, so that the
        action does not wait for it (a deposit approval for your re-evaluation). ``handler(ctx,
        keys)`` gets the tenant's unit of work, acting as your plugin, and the keys deferred
        since, each once however often it was deferred; it runs within moments in the server's
        background, or as the commit returns where no background worker runs (the CLI, tests). A
        failure undoes the call and its keys are tried again later; a key deferred again while
        it is being done is done again. Never run for a tenant where your plugin is not enabled."""

    @registration
    def crm_migrations(self) -> str | Path | None:
        """The folder of your Alembic revisions (your own branch, whose first revision
        ``depends_on`` a core revision). ``crm db upgrade`` applies them. Name your tables
        ``<name>_…`` and give every row a tenant (``core.sdk.TenantOwned``)."""

    @registration
    def crm_portal_pages(self) -> list[PortalPage] | None:
        """Entries your plugin adds to the client portal's navigation: ``{"id", "label", "path"}``
        where ``path`` is relative to your portal page router (``crm_portal_page_router``). Shown
        to the clients of tenants with your plugin enabled."""

    @registration
    def crm_client_metrics(self) -> list[ClientMetric] | None:
        """Since 1.5. Facts about clients your plugin can measure, for rules in other modules (a
        status's criteria): each a ``ClientMetric`` named ``"<your plugin>.<metric>"``, whose
        ``measure`` answers for many clients at once (one query, never one per client). Offered to
        tenants with your plugin enabled; a bad definition stops your plugin from loading."""

    # --- web pages (since 1.4): see "Pages" in docs/plugins.md ----------------------------------

    @registration
    def crm_cli_commands(self) -> Any | None:
        """Since 1.5. Your command-line commands: a ``typer.Typer``, run as ``crm <name> <command>
        … --tenant SLUG`` or ``crm module <name> --tenant SLUG <command> …`` (imported only when
        such a command runs, so ``crm --help`` stays fast). A command receives the tenant's unit
        of work as ``typer.Context.obj`` (a ``Ctx`` acting as the platform, logged as "cli"): it
        commits when the command returns and is rolled back if it fails; a ``DomainError`` is
        printed as the error (exit code 1). The tenant must have your plugin enabled."""

    @registration
    def crm_templates(self) -> str | Path | None:
        """Since 1.4. The folder of your Jinja2 templates. Pages and slots name them under your
        plugin's prefix: ``"<name>/list.html"`` is ``<folder>/list.html``. Extend the host's
        layouts (``"backoffice/layout.html"``, ``"portal/layout.html"``) and use its macros
        (``"macros.html"``); never override a host template."""

    @registration
    def crm_backoffice_page_router(self) -> APIRouter | None:
        """Since 1.4. Your back-office pages, mounted at ``/backoffice/plugins/<name>/``: routes
        that return ``core.sdk.render(...)``. Every route declares its access like an API route
        (``core.sdk.staff("<name>.<action>")``; no public pages), answers 404 to tenants without
        your plugin enabled, and is signed in by the back office's session cookie. Forms must send
        the CSRF token (``{{ csrf_input() }}``; htmx requests carry it already)."""

    @registration
    def crm_portal_page_router(self) -> APIRouter | None:
        """Since 1.4. Your client-portal pages, mounted at ``/portal/plugins/<name>/``; routes
        declare ``core.sdk.portal()``. Link them in the portal's navigation with
        ``crm_portal_pages``."""

    @registration
    def crm_backoffice_nav(self) -> list[NavEntry] | None:
        """Since 1.4. Entries your plugin adds to the back office's navigation. Each names the
        permission a user needs to see it; the page behind it must require the same one."""

    @registration
    def crm_ui_slots(self) -> list[SlotContribution] | None:
        """Since 1.4. Pieces of the host's pages your plugin fills: a template of yours rendered at
        a named slot (``core.sdk.SLOTS``: the dashboard, the client page's panels, the portal's
        home and header). The host renders a contribution only for tenants with your plugin
        enabled and, in the back office, only for users holding its ``permission``. A failing
        contribution is recorded in the plugin-health view and left out; the page still shows."""

    # --- lifecycle: one plugin, one tenant ------------------------------------------------------

    @lifecycle
    def crm_installed(self, ctx: Ctx) -> None:
        """Your plugin was installed for ``ctx``'s tenant (also after a reinstall, when the data
        you kept is still there). Raising refuses the installation."""

    @lifecycle
    def crm_uninstalled(self, ctx: Ctx, purge: bool) -> None:
        """Your plugin was uninstalled for the tenant. With ``purge`` False your data stays, for a
        reinstall; with True the host is about to delete the tenant's rows of your tables."""

    @lifecycle
    def crm_enabled(self, ctx: Ctx) -> None:
        """Your plugin was enabled again for the tenant."""

    @lifecycle
    def crm_disabled(self, ctx: Ctx) -> None:
        """Your plugin was disabled for the tenant: its routes answer 404, it receives no events
        and its jobs do not run until it is enabled again. Its data and settings stay."""

    @lifecycle
    def crm_settings_changed(self, ctx: Ctx, old: dict[str, Any], new: dict[str, Any]) -> None:
        """The tenant changed your settings (validated against your manifest's settings schema).
        Secret values are included: do not log them."""

    @lifecycle
    def crm_demo_data(self, ctx: Ctx) -> None:
        """Optional. The demo broker (``scripts/run``) was just seeded and your plugin installed
        for it: add a few records so a visitor sees your module at work. Use your own services;
        ``ctx`` acts as the system, on the demo tenant."""

    # --- domain events: every installed, enabled plugin of the tenant, each isolated ---------

    @event
    def crm_client_registered(self, ctx: Ctx, client: Client, promotion_link: PromotionLink | None) -> None:
        """A new client: signed up in the portal (``promotion_link`` is the link they came through,
        if any) or, since 1.5, created by staff or a module (``promotion_link`` is None)."""

    @event
    def crm_client_logged_in(self, ctx: Ctx, client: Client) -> None:
        """A client signed in to the portal."""

    @event
    def crm_client_updated(self, ctx: Ctx, client: Client, changes: dict[str, tuple[Any, Any]]) -> None:
        """A client's record changed: ``changes`` maps each changed field to ``(before, after)``.
        Announced fields: ``rank_id``, ``tier_id``, ``group_id``; since 1.5 also ``client_type``,
        ``country``, ``language``, ``referrer_id`` and ``suspended``."""

    @event
    def crm_invitation_accepted(self, ctx: Ctx, client: Client, invitation: Invitation) -> None:
        """Since 1.6. A client opened their account through an invitation a module sent
        (``core.sdk.invite_client``): ``invitation["module"]`` names the module, and
        ``invitation["reference"]`` what it bound the invitation to. Fired right after
        ``crm_client_registered``, in the same unit of work: ignore other modules' invitations."""

    @event
    def crm_deposit_approved(self, ctx: Ctx, deposit: Deposit) -> None:
        """A deposit was approved."""

    @event
    def crm_kyc_document_verified(self, ctx: Ctx, document: KycDocument) -> None:
        """A KYC document was verified; the client's ``kyc_status`` is already updated."""

    @event
    def crm_trading_account_opened(self, ctx: Ctx, account: TradingAccount) -> None:
        """Since 1.5. A trading account was opened for ``account.client_id``."""

    @event
    def crm_order_paid(self, ctx: Ctx, order: PropOrder) -> None:
        """A prop-challenge order was paid."""

    @event
    def crm_order_failed(self, ctx: Ctx, order: PropOrder) -> None:
        """A prop-challenge order's payment failed (``order.failure_reason`` says why)."""

    @event
    def crm_order_cancelled(self, ctx: Ctx, order: PropOrder) -> None:
        """A placed prop-challenge order was cancelled."""

    # --- module events: announced by a module, consumed by any (``core.sdk.announce``) -------

    @event
    @announced_by("status_system")
    def crm_client_status_changed(self, ctx: Ctx, client: Client, change: StatusChange) -> None:
        """Since 1.5. Announced by the Status System module: ``client``'s status changed (only on a
        real change, once). ``change`` says from which status to which, and why."""

    @event
    @announced_by("leads")
    def crm_lead_converted(self, ctx: Ctx, client: Client, conversion: LeadConversion) -> None:
        """Since 1.6. Announced by the Leads module: a lead became ``client`` (once per lead, in
        the unit of work that converted it). ``conversion`` says which lead and how."""

    # --- chained: part of an action; an exception fails the action ---------------------------

    @chained
    def crm_price_order(self, ctx: Ctx, client: Client, challenge: PropChallenge, quote: Quote) -> None:
        """Adjust the price of a prop challenge for a client. Read the checkout options you
        understand with ``quote.option("coupon_id")`` (an option no plugin reads is refused), and
        add adjustments with ``quote.adjust(source=..., code=..., label=..., amount=-discount)``;
        ``quote.current_price`` is the price so far. Plugins are called one after another in a
        stable order, each seeing the previous adjustments. ``quote.purpose`` is ``"offer"`` for the
        challenge list (you may apply your best automatic discount, e.g. the client's best coupon),
        ``"quote"`` for the options the client chose, and ``"order"`` when the order is placed."""

    @chained
    def crm_order_placing(self, ctx: Ctx, order: PropOrder, quote: Quote) -> None:
        """An order is being placed at ``quote``'s price, in the same transaction. Reserve what the
        price relied on (a coupon use); raise ``core.sdk.DomainError`` to refuse the order."""

    # --- queries: every enabled plugin of the tenant answers; only read --------------------------

    @query
    def crm_currency_in_use(self, ctx: Ctx, currency: str) -> list[str] | None:
        """Since 1.2. The tenant is about to stop using ``currency`` (an ISO 4217 code) as a base
        currency: describe each of your records that still relies on it, one short phrase each,
        naming the record as staff know it (``"tier upgrade rule 'Gold IB' (tier Silver)"``), or
        return an empty list. Any description refuses the change (409, listing them all); a
        failure refuses it too. Only read: do not change anything here."""

    @query
    def crm_portal_notification_counts(self, ctx: Ctx, client: Client) -> dict[str, int] | None:
        """Items of yours the portal's notification badge should count for this client, e.g.
        ``{"coupons": 2}``. Only read. A failure is recorded in the plugin-health view and your
        count is left out: the client still sees the portal and the other plugins' counts."""

    @query
    def crm_client_segments(self, ctx: Ctx) -> list[ClientSegment] | None:
        """Since 1.5. Audiences of clients your module offers to other modules ("clients with
        status Gold"): ``{"key", "label", "description"}``, ``key`` unique within your plugin. Other
        modules target them as ``"<your plugin>:<key>"`` (a coupon's distribution, for one) without
        importing you. Only read."""

    @query
    def crm_segment_members(self, ctx: Ctx, segment: str) -> Select | None:
        """Since 1.5. The members of one of your segments (``segment`` is your ``key``): a
        ``SELECT`` of one column of client ids that filters on ``tenant_id`` itself (it may feed an
        ``INSERT … FROM SELECT``). Only your plugin is asked about its own keys; return None for a
        key you no longer offer. Core narrows it to the clients the user may see."""


def announcer_of(hook: str) -> str | None:
    """The module that announces a module event, or None for core's own hooks."""
    return getattr(vars(CrmHooks).get(hook), "crm_announced_by", None)


def kind_of(hook: str) -> HookKind:
    """The declared kind of a hook of the contract (``KeyError`` for a name that is not a hook)."""
    function = vars(CrmHooks).get(hook)
    if function is None or not hasattr(function, "crm_kind"):
        raise KeyError(hook)
    return function.crm_kind


def hook_names(kind: HookKind | None = None) -> list[str]:
    """The contract's hooks in the order they are declared, optionally only those of one kind."""
    return [
        name
        for name, function in vars(CrmHooks).items()
        if hasattr(function, "crm_kind") and (kind is None or function.crm_kind is kind)
    ]
