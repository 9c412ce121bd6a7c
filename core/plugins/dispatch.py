"""Calling plugins for one tenant: events (isolated), chained hooks (all or nothing), lifecycle.

Only the plugins installed and enabled for the tenant are called, in a stable order (by name).
Plugins act as the system: ``ctx.principal`` is None in their hooks and the operation log names
the plugin as the actor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pluggy import HookRelay

from core.context import Ctx
from core.errors import DomainError

log = logging.getLogger("crm.plugins")


class ModuleFailed(DomainError):
    """A module taking part in an action failed, so the action did not happen."""

    status = 503
    code = "module_failed"


def enabled_plugins(ctx: Ctx) -> frozenset[str]:
    host = getattr(ctx.runtime, "plugins", None)
    if host is None or not host.plugins:
        return frozenset()
    return ctx.runtime.plugin_state.enabled(ctx.session, ctx.tenant_id)


def tenant_hooks(ctx: Ctx) -> HookRelay | None:
    names = enabled_plugins(ctx)
    return ctx.runtime.plugins.hooks_for(names) if names else None


def _implementations(ctx: Ctx, hook: str) -> list[Any]:
    relay = tenant_hooks(ctx)
    if relay is None:
        return []
    # pluggy's own call order: the list is stored lowest priority first.
    return list(reversed(getattr(relay, hook).get_hookimpls()))


@contextmanager
def acting_as(ctx: Ctx, plugin: str) -> Iterator[Ctx]:
    """The same unit of work, acting as the plugin (for its changes in the operation log)."""
    info = ctx.session.info
    saved = {key: info[key] for key in ("principal", "actor_label") if key in info}
    info["principal"], info["actor_label"] = None, f"plugin:{plugin}"
    try:
        yield Ctx(session=ctx.session, principal=None, runtime=ctx.runtime)
    finally:
        info.pop("principal", None)
        info.pop("actor_label", None)
        info.update(saved)


def _call(implementation: Any, kwargs: dict[str, Any]) -> Any:
    return implementation.function(*(kwargs[name] for name in implementation.argnames))


def fire(ctx: Ctx, hook: str, **kwargs: Any) -> None:
    """Deliver a domain event. Each plugin's handler runs in its own savepoint: a failure undoes
    only that handler's changes, is recorded for replay, and stops neither core nor the others."""
    from core.events.service import record_failure

    for implementation in _implementations(ctx, hook):
        plugin = implementation.plugin_name
        try:
            with ctx.session.begin_nested(), acting_as(ctx, plugin) as plugin_ctx:
                _call(implementation, {**kwargs, "ctx": plugin_ctx})
        except Exception as error:
            log.warning("plugin %s failed on %s for tenant %s: %r", plugin, hook, ctx.tenant_id, error)
            record_failure(ctx, plugin, hook, kwargs, error)


def chain(ctx: Ctx, hook: str, **kwargs: Any) -> None:
    """Call a chained hook: each plugin in turn; any failure fails the whole action."""
    for implementation in _implementations(ctx, hook):
        plugin = implementation.plugin_name
        try:
            with acting_as(ctx, plugin) as plugin_ctx:
                _call(implementation, {**kwargs, "ctx": plugin_ctx})
        except DomainError:
            raise  # the plugin refused, saying why (e.g. a coupon is used up)
        except Exception as error:
            log.exception("plugin %s failed in %s", plugin, hook)
            raise ModuleFailed(
                f"the {plugin} module failed ({type(error).__name__}); nothing was done"
            ) from error


def collect(ctx: Ctx, hook: str, *, strict: bool = False, **kwargs: Any) -> dict[str, Any]:
    """Each plugin's answer to a query hook; a failing plugin is recorded and left out. With
    ``strict`` (a guard, where a missing answer would wrongly allow an action) a failure fails the
    action instead, as in a chained hook."""
    from core.events.service import record_failure

    answers: dict[str, Any] = {}
    for implementation in _implementations(ctx, hook):
        plugin = implementation.plugin_name
        try:
            with ctx.session.begin_nested(), acting_as(ctx, plugin) as plugin_ctx:
                result = _call(implementation, {**kwargs, "ctx": plugin_ctx})
        except Exception as error:
            if strict:
                log.exception("plugin %s failed in %s", plugin, hook)
                raise ModuleFailed(
                    f"the {plugin} module failed ({type(error).__name__}); nothing was done"
                ) from error
            record_failure(ctx, plugin, hook, kwargs, error)
            continue
        if result is not None:
            answers[plugin] = result
    return answers


def call_lifecycle(ctx: Ctx, plugin: str, hook: str, **kwargs: Any) -> None:
    """Tell one plugin about a change of its own state for the tenant. A failure fails the change."""
    implementation = ctx.runtime.plugins.implementation(plugin, hook)
    if implementation is None:
        return
    try:
        with acting_as(ctx, plugin) as plugin_ctx:
            _call(implementation, {**kwargs, "ctx": plugin_ctx})
    except DomainError:
        raise
    except Exception as error:
        log.exception("plugin %s failed in %s", plugin, hook)
        raise ModuleFailed(
            f"the {plugin} module failed in {hook} ({type(error).__name__}); nothing was changed"
        ) from error
