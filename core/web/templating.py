"""Rendering pages: one Jinja2 environment for core's templates and every plugin's (each under its
own prefix), with htmx fragments as blocks of a page's template (jinja2-fragments), translations,
and the filters every page shares (amounts with the currency's digits, times in the broker's zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2_fragments import render_block
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from core import reference
from core.access.principal_cache import TENANT_BRIEF, TenantBrief
from core.context import Ctx
from core.plugins.host import PluginHost
from core.tenancy.models import Tenant
from core.web.i18n import ConstantTranslations, translations
from core.web.sessions import CSRF_FIELD, csrf_token, keep_csrf_cookie

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = Path(__file__).parent / "assets"
# The vendored front-end files, pinned: the name carries the version, so browsers may cache them
# for good (``core.web.app`` serves /static with an immutable cache header).
HTMX = "htmx-2.0.11.min.js"
PICO = "pico-2.1.1.min.css"


def build_environment(host: PluginHost) -> Environment:
    """Core's templates by their own names; each plugin's under ``<plugin>/``. Not sandboxed: a
    plugin's templates are as trusted as its Python code."""
    plugins = {name: FileSystemLoader(p.templates) for name, p in host.plugins.items() if p.templates}
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(TEMPLATES), PrefixLoader(plugins)]),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", ConstantTranslations],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates change with a release, not while serving: no stat per render
    )
    catalog = translations()
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext_constant"] = catalog.gettext  # ConstantTranslations' lookup at compile time
    env.filters["money"] = money
    env.filters["when"] = when
    env.filters["day"] = day
    env.globals["HTMX"] = HTMX
    env.globals["PICO"] = PICO
    return env


def money(amount: Decimal | int | str | None, currency: str | None = None) -> str:
    """An amount with its currency's digits and thousands separators: ``1,234.50 USD``."""
    if amount is None:
        return "—"
    value = Decimal(str(amount))
    if currency:
        value = reference.display_amount(value, currency)
        places = reference.minor_units(currency)
        return f"{value:,.{places}f} {currency}"
    return f"{value:,}"


@pass_context
def when(context: Context, moment: datetime | None) -> str:
    """A moment in the broker's time zone (``zone`` in the page's context), to the minute."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = context.get("zone")
    local = moment.astimezone(ZoneInfo(zone)) if zone else moment
    return local.strftime("%Y-%m-%d %H:%M")


@pass_context
def day(context: Context, moment: datetime | date | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        return when(context, moment)[:10]
    return moment.isoformat()


def environment(request: Request) -> Environment:
    env: Environment = request.app.state.pages
    return env


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def page_context(request: Request, ctx: Ctx | None) -> dict[str, Any]:
    """What every template sees: the request, the caller, the CSRF token, the broker's zone."""
    token = csrf_token(request)
    values: dict[str, Any] = {
        "request": request,
        "ctx": ctx,
        "principal": ctx.principal if ctx else None,
        "csrf_token": token,
        "csrf_input": lambda: Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'),
        "zone": None,
        "htmx": is_htmx(request),
    }
    if ctx is not None and ctx.session.tenant_id is not None:
        values["tenant"] = tenant = tenant_brief(ctx)
        values["zone"] = tenant.timezone
    return values


def tenant_brief(ctx: Ctx) -> TenantBrief:
    """The caller's tenant's name and zone: read with its access generation when the principal
    came from the cache (no query), else looked up."""
    tenant_id = ctx.session.tenant_id
    brief = ctx.session.info.get(TENANT_BRIEF)
    if brief is None or brief.id != tenant_id:
        tenant = ctx.session.get(Tenant, tenant_id)
        assert tenant is not None
        brief = ctx.session.info[TENANT_BRIEF] = TenantBrief(tenant.id, tenant.name, tenant.timezone)
    return brief


def render(
    request: Request,
    ctx: Ctx | None,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """A page, or with ``block`` one block of it (the fragment an htmx request swaps in)."""
    env = environment(request)
    values = {**page_context(request, ctx), **(context or {})}
    if block is None:
        html = env.get_template(template).render(values)
    else:
        html = render_block(env, template, block, values)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    keep_csrf_cookie(request, response)
    return response
