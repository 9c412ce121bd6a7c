"""A plugin's per-tenant settings: validated against its manifest's schema, secrets masked when
shown and kept when sent back masked, defaults filled in, and the plugin told of each change."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from core.context import Ctx
from core.errors import FieldError, InvalidInput
from core.marketplace.models import PluginStatus
from core.marketplace.state import mark_changed
from core.marketplace.tenant_plugins import installed_row, is_operator, loaded_plugin, log_action, tenant_row
from core.plugins.dispatch import call_lifecycle

MASK = "********"


def _secret_fields(schema: dict[str, Any]) -> set[str]:
    return {name for name, prop in schema.get("properties", {}).items() if prop.get("writeOnly")}


def _masked(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    secrets = _secret_fields(schema)
    return {k: (MASK if k in secrets and v not in (None, "") else v) for k, v in values.items()}


def _with_defaults(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        k: copy.deepcopy(p["default"]) for k, p in schema.get("properties", {}).items() if "default" in p
    }
    return {**defaults, **values}


def get_settings(ctx: Ctx, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values with secrets masked and defaults filled in, the settings schema)."""
    plugin = loaded_plugin(ctx, name)
    row = installed_row(ctx, name)
    schema = plugin.manifest.settings_schema
    return _masked(schema, _with_defaults(schema, row.settings or {})), schema


def settings_of(ctx: Ctx, name: str) -> dict[str, Any]:
    """A plugin's settings for the tenant, secrets included, defaults filled in (for the plugin).
    An enabled plugin's come from the process's cache of the tenant's plugins (no query: modules
    read them on every event); a copy, which the caller may change."""
    schema = loaded_plugin(ctx, name).manifest.settings_schema
    cached = ctx.runtime.plugin_state.stored_settings(ctx.session, ctx.tenant_id, name)
    if cached is not None:
        return _with_defaults(schema, copy.deepcopy(dict(cached)))
    row = tenant_row(ctx, name)
    return _with_defaults(schema, (row.settings if row else None) or {})


def update_settings(ctx: Ctx, name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Replace the settings. A secret sent back masked, or left out, keeps its stored value."""
    if not is_operator(ctx):
        ctx.require("marketplace.manage")
    plugin = loaded_plugin(ctx, name)
    row = installed_row(ctx, name)
    schema = plugin.manifest.settings_schema
    old = dict(row.settings or {})
    new = dict(values)
    for secret in _secret_fields(schema):
        if new.get(secret) == MASK or (secret not in new and secret in old):
            if secret in old:
                new[secret] = old[secret]
            else:
                new.pop(secret, None)
    errors = sorted(
        Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(new),
        key=lambda e: e.json_path,
    )
    if errors:
        fields = [FieldError("settings" + e.json_path.removeprefix("$"), e.message) for e in errors]
        raise InvalidInput(fields[0].field, fields[0].message, *fields[1:])
    row.settings = new
    ctx.session.flush()
    mark_changed(ctx.session, ctx.tenant_id)  # other processes drop their cached settings
    log_action(ctx, name, "settings", before=_masked(schema, old), values=_masked(schema, new))
    if row.status is PluginStatus.ENABLED:
        call_lifecycle(
            ctx,
            name,
            "crm_settings_changed",
            old=_with_defaults(schema, old),
            new=_with_defaults(schema, new),
        )
    return _masked(schema, _with_defaults(schema, new))
