"""The back office's marketplace: the catalogue, a module's page (Obtain, enable and disable, its
settings form generated from the module's JSON Schema, uninstall with its impact, purge) and the
modules' failures with replay. Every action calls the marketplace's own services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from core.api.deps import Paging, PathId, PathModule, staff
from core.context import Ctx
from core.errors import DomainError, InvalidInput
from core.failures import service as failure_store
from core.i18n import N_
from core.marketplace import service, settings
from core.marketplace.schemas import InstallIn, PurgeIn, UninstallIn
from core.plugins.dispatch import replay_failure
from core.schemas import ModuleName
from core.web.forms import FormData, field_errors, parse_form
from core.web.i18n import gettext
from core.web.pages import page

router = APIRouter(prefix="/backoffice/marketplace")

ROOT = "/backoffice/marketplace"
# What a redirect after an action tells the page to announce (a fixed list: no text from the URL).
NOTICES = {
    "obtained": N_("The module is installed."),
    "enabled": N_("The module is enabled."),
    "disabled": N_("The module is disabled."),
    "saved": N_("The settings are saved."),
    "uninstalled": N_("The module is uninstalled. Its data is kept until purged."),
    "purged": N_("The module's data is deleted."),
    "replayed": N_("The event was delivered again."),
    "failed_again": N_("The event failed again: see the replay error."),
}
Notice = Annotated[Literal[tuple(NOTICES)] | None, Query()]  # type: ignore[valid-type]
SUPPORTED = ("string", "number", "integer", "boolean")


# --- the settings form, generated from the module's JSON Schema ------------------------------------


def settings_fields(schema: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per property: its input kind, label, value and the schema's bounds as attributes."""
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        field: dict[str, Any] = {
            "name": name,
            "label": prop.get("title") or name.replace("_", " ").capitalize(),
            "help": prop.get("description"),
            "value": values.get(name),
            "required": name in required,
            "attrs": {},
        }
        if "enum" in prop:
            field["kind"] = "enum"
            field["options"] = [(str(v), str(v)) for v in prop["enum"]]
        elif kind == "boolean":
            field["kind"] = "boolean"
        elif kind in ("number", "integer"):
            field["kind"] = "number"
            attrs = field["attrs"]
            for key, attr in (("minimum", "min"), ("maximum", "max")):
                if key in prop:
                    attrs[attr] = prop[key]
            attrs["step"] = prop.get("multipleOf", 1 if kind == "integer" else "any")
        elif kind == "string":
            field["kind"] = "secret" if prop.get("writeOnly") else "string"
            attrs = field["attrs"]
            for key, attr in (("minLength", "minlength"), ("maxLength", "maxlength"), ("pattern", "pattern")):
                if key in prop:
                    attrs[attr] = prop[key]
            if field["kind"] == "secret":
                field["is_set"] = values.get(name) == settings.MASK
                field["value"] = ""
        else:
            field["kind"] = "other"  # objects and arrays: edited through the API, kept here
        fields.append(field)
    return fields


def _number(text: Any) -> Any:
    """The number a field holds; text that is none stays text, for the schema to refuse by name."""
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            continue
    return text


def settings_values(schema: dict[str, Any], form: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The posted form as the settings' values: each property read by its type; a blank field is
    left out (its default applies; a blank secret keeps its value); properties the form cannot edit
    keep their current value."""
    values: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        raw = form.get(name)
        if "enum" in prop:
            if raw is not None:
                match = [v for v in prop["enum"] if str(v) == raw]
                values[name] = match[0] if match else raw
        elif kind == "boolean":
            values[name] = raw == "true"
        elif kind in ("number", "integer"):
            if raw is not None:
                values[name] = _number(raw)
        elif kind == "string":
            if raw is not None:
                values[name] = raw
        elif name in current:
            values[name] = current[name]
    return values


def _setting_errors(error: DomainError) -> dict[str, str]:
    """The service names fields ``settings.<name>``; the form names them ``<name>``."""
    errors: dict[str, str] = {}
    for item in error.fields:
        name = item.field.removeprefix("settings").lstrip(".")
        errors.setdefault(name, item.message)
    return errors or {"": error.message}


ORDER = {"enabled": 0, "disabled": 0, "licence_expired": 0, "available": 1}


def ordered(entries: list[service.CatalogEntry]) -> list[service.CatalogEntry]:
    """Installed modules first, then those one may obtain, then those that cannot be installed."""
    return sorted(entries, key=lambda e: (ORDER.get(e.state, 2), e.name))


def installed_names(ctx: Ctx) -> set[str]:
    return {e.name for e in service.catalog(ctx) if e.installed_version is not None}


# --- pages ------------------------------------------------------------------------------------------


def _details(
    request: Request,
    ctx: Ctx,
    name: str,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    posted: dict[str, Any] | None = None,
    open_dialog: str | None = None,
    status_code: int = 200,
) -> Response:
    entry = service.entry(ctx, name)
    installed = entry.installed_version is not None
    principal = ctx.principal
    can_manage = principal is not None and principal.has("marketplace.manage")
    form_fields: list[dict[str, Any]] = []
    if installed and entry.state != "broken" and name in ctx.runtime.plugins.plugins:
        values, schema = settings.get_settings(ctx, name)
        if posted is not None:  # the refused form shows what was entered, never a secret
            properties = schema.get("properties", {})
            shown = {
                k: v for k, v in posted.items() if k in properties and not properties[k].get("writeOnly")
            }
            values = {**values, **shown}
        form_fields = settings_fields(schema, values)
    impact = service.uninstall_impact(ctx, name) if installed and can_manage else None
    missing = [
        requirement.name
        for requirement in (entry.manifest.requires if entry.manifest else [])
        if requirement.name not in installed_names(ctx)
    ]
    return page(
        request,
        ctx,
        "backoffice/marketplace/module.html",
        {
            "entry": entry,
            "installed": installed,
            "can_install": principal is not None and principal.has("marketplace.install"),
            "can_manage": can_manage,
            "settings_fields": form_fields,
            "impact": impact,
            "missing": missing,
            "errors": errors or {},
            "error": error,
            "open_dialog": open_dialog,
            "flash": gettext(NOTICES[notice]) if notice else None,
        },
        status_code=status_code,
    )


@router.get("")
def catalogue(request: Request, ctx: Ctx = staff("marketplace.read")) -> Response:
    return page(
        request, ctx, "backoffice/marketplace/catalogue.html", {"entries": ordered(service.catalog(ctx))}
    )


@router.get("/failures")
def failures(
    request: Request,
    paging: Paging,
    plugin: Annotated[ModuleName | None, Query()] = None,
    resolved: Annotated[Literal["true", "false"] | None, Query()] = None,
    notice: Notice = None,
    ctx: Ctx = staff("marketplace.read"),
) -> Response:
    return _failures_page(request, ctx, paging, plugin, resolved, notice)


def _failures_page(
    request: Request,
    ctx: Ctx,
    paging: Any,
    plugin: str | None,
    resolved: str | None,
    notice: str | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    flag = None if resolved is None else resolved == "true"
    result = failure_store.list_failures(ctx, paging, plugin=plugin, resolved=flag)
    query = "&".join(f"{k}={v}" for k, v in (("plugin", plugin), ("resolved", resolved)) if v)
    context = {
        "result": result,
        "plugin": plugin,
        "resolved": resolved,
        "modules": [e.name for e in service.catalog(ctx) if e.installed_version],
        "url": f"{ROOT}/failures?{query + '&' if query else ''}",
        "can_manage": ctx.principal is not None and ctx.principal.has("marketplace.manage"),
        "flash": gettext(NOTICES[notice]) if notice else None,
        "error": error,
    }
    block = "listing" if request.headers.get("hx-request") else None
    return page(
        request, ctx, "backoffice/marketplace/failures.html", context, block=block, status_code=status_code
    )


@router.post("/failures/{failure_id}/replay")
def replay(request: Request, failure_id: PathId, ctx: Ctx = staff("marketplace.manage")) -> Response:
    try:
        with ctx.session.begin_nested():
            failure = replay_failure(ctx, failure_id)
    except DomainError as refusal:
        if refusal.status == 404:
            raise
        from core.db.paging import PageRequest

        return _failures_page(
            request, ctx, PageRequest(), None, None, None, error=refusal.message, status_code=refusal.status
        )
    outcome = "replayed" if failure.resolved else "failed_again"
    return RedirectResponse(f"{ROOT}/failures?notice={outcome}", status_code=303)


@router.get("/{plugin}")
def module(
    request: Request, plugin: PathModule, notice: Notice = None, ctx: Ctx = staff("marketplace.read")
) -> Response:
    return _details(request, ctx, plugin, notice=notice)


def _attempt(request: Request, ctx: Ctx, plugin: str, action: Any, done: str, **shown: Any) -> Response:
    """Run ``action`` in a savepoint; on a refusal show the module's page with it (nothing written)."""
    try:
        with ctx.session.begin_nested():
            action()
    except DomainError as refusal:
        if refusal.status == 404 and not refusal.fields:
            raise
        errors = field_errors(refusal) if refusal.fields else {}
        return _details(
            request, ctx, plugin, errors=errors, error=refusal.message, status_code=refusal.status, **shown
        )
    return RedirectResponse(f"{ROOT}/{plugin}?notice={done}", status_code=303)


@router.post("/{plugin}/install")
def install(
    request: Request, plugin: PathModule, form: FormData, ctx: Ctx = staff("marketplace.install")
) -> Response:
    def action() -> None:
        body = parse_form(InstallIn, form)
        service.install(ctx, plugin, with_requirements=body.with_requirements)

    return _attempt(request, ctx, plugin, action, "obtained")


@router.post("/{plugin}/enable")
def enable(request: Request, plugin: PathModule, ctx: Ctx = staff("marketplace.manage")) -> Response:
    return _attempt(request, ctx, plugin, lambda: service.set_enabled(ctx, plugin, True), "enabled")


@router.post("/{plugin}/disable")
def disable(request: Request, plugin: PathModule, ctx: Ctx = staff("marketplace.manage")) -> Response:
    return _attempt(request, ctx, plugin, lambda: service.set_enabled(ctx, plugin, False), "disabled")


@router.post("/{plugin}/settings")
def save_settings(
    request: Request, plugin: PathModule, form: FormData, ctx: Ctx = staff("marketplace.manage")
) -> Response:
    current, schema = settings.get_settings(ctx, plugin)
    values = settings_values(schema, form, current)
    try:
        with ctx.session.begin_nested():
            settings.update_settings(ctx, plugin, values)
    except InvalidInput as invalid:
        return _details(request, ctx, plugin, errors=_setting_errors(invalid), posted=values, status_code=422)
    return RedirectResponse(f"{ROOT}/{plugin}?notice=saved", status_code=303)


@router.post("/{plugin}/uninstall")
def uninstall(
    request: Request, plugin: PathModule, form: FormData, ctx: Ctx = staff("marketplace.manage")
) -> Response:
    def action() -> None:
        body = parse_form(UninstallIn, form)
        service.uninstall(ctx, plugin, cascade=body.cascade)

    return _attempt(request, ctx, plugin, action, "uninstalled")


@router.post("/{plugin}/purge")
def purge(
    request: Request, plugin: PathModule, form: FormData, ctx: Ctx = staff("marketplace.manage")
) -> Response:
    def action() -> None:
        body = parse_form(PurgeIn, form)
        if body.confirm != plugin:
            raise InvalidInput("confirm", f"type the module's name ({plugin}) to confirm")
        service.purge(ctx, plugin)

    return _attempt(request, ctx, plugin, action, "purged", open_dialog="purge-dialog")
