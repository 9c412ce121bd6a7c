"""Calling plugins for one tenant, each hook as its declared kind: events (``fire``: isolated;
``announce``: a module's own events, delivered alike), chained hooks (``chain``: all or nothing),
queries (``collect``; ``ask``: one plugin), lifecycle (``call_lifecycle``), and the replay of a
recorded failure.

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
from core.contract import HookKind, announcer_of, kind_of
from core.db.base import utcnow
from core.errors import Conflict, DomainError
from core.failures.models import PluginFailure
from core.failures.service import decode_arguments, get_failure, record_failure

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


def _require_kind(hook: str, kind: HookKind) -> None:
    declared = kind_of(hook)
    if declared is not kind:
        raise TypeError(f"{hook} is a {declared.value} hook, not a {kind.value} hook")


def _implementations(ctx: Ctx, hook: str, kind: HookKind) -> list[Any]:
    _require_kind(hook, kind)
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


def _invoke(implementation: Any, kwargs: dict[str, Any]) -> Any:
    """Call one plugin's implementation with the arguments it names (pluggy passes by name)."""
    return implementation.function(*(kwargs[name] for name in implementation.argnames))


def fire(ctx: Ctx, hook: str, **kwargs: Any) -> None:
    """Deliver one of core's domain events. Each plugin's handler runs in its own savepoint: a
    failure undoes only that handler's changes, is recorded for replay, and stops neither core nor
    the others. A module's event (``announced_by``) is refused: modules ``announce`` their own."""
    if announcer_of(hook) is not None:
        raise TypeError(f"{hook} is announced by the {announcer_of(hook)} module, not fired by core")
    _deliver(ctx, hook, kwargs)


def _acting_plugin(ctx: Ctx) -> str | None:
    """The plugin the unit of work is acting as now (inside a hook the host called), if any."""
    label = ctx.session.info.get("actor_label")
    if isinstance(label, str) and label.startswith("plugin:"):
        return label.removeprefix("plugin:")
    return None


def announce(ctx: Ctx, hook: str, *, announcer: str | None = None, **kwargs: Any) -> None:
    """Deliver a module event (a hook declared ``announced_by(<module>)``) exactly as core's
    events are delivered: each enabled plugin's handler in its own savepoint, a failure recorded
    for replay.

    The module announcing is the plugin the unit of work acts as (inside a hook the host called
    it: ``actor_label`` is ``plugin:<name>``) or, outside one (its routes, its jobs), the one named
    by ``announcer``; when both are known they must agree. It must be the module the contract
    declares. ``TypeError`` otherwise, or for a hook that is not a module event: a module speaks
    neither for core nor for another module."""
    declared = announcer_of(hook)
    if declared is None:
        raise TypeError(f"{hook} is not a module event: only core fires it")
    acting = _acting_plugin(ctx)
    if acting is not None and announcer is not None and acting != announcer:
        raise TypeError(f"the {acting} module cannot announce {hook} as {announcer}")
    caller = acting or announcer
    if caller is None:
        raise TypeError(f"name the module announcing {hook} (announcer=...)")
    if caller != declared:
        raise TypeError(f"{hook} is announced by the {declared} module only, not by {caller}")
    _deliver(ctx, hook, kwargs)


def listening(ctx: Ctx, hook: str) -> bool:
    """Whether a plugin enabled for the tenant handles the event ``hook``: a module need not
    gather what an event carries when nobody would hear it."""
    return bool(_implementations(ctx, hook, HookKind.EVENT))


def _deliver(ctx: Ctx, hook: str, kwargs: dict[str, Any]) -> None:
    for implementation in _implementations(ctx, hook, HookKind.EVENT):
        plugin = implementation.plugin_name
        try:
            with ctx.session.begin_nested(), acting_as(ctx, plugin) as plugin_ctx:
                _invoke(implementation, {**kwargs, "ctx": plugin_ctx})
        except Exception as error:
            log.warning("plugin %s failed on %s for tenant %s: %r", plugin, hook, ctx.tenant_id, error)
            record_failure(ctx, plugin, hook, kwargs, error)


def chain(ctx: Ctx, hook: str, **kwargs: Any) -> None:
    """Call a chained hook: each plugin in turn; any failure fails the whole action."""
    for implementation in _implementations(ctx, hook, HookKind.CHAINED):
        plugin = implementation.plugin_name
        try:
            with acting_as(ctx, plugin) as plugin_ctx:
                _invoke(implementation, {**kwargs, "ctx": plugin_ctx})
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
    action instead, as in a chained hook.

    Query hooks only read, so the plugins share one savepoint rather than one each (a savepoint
    costs two round trips): when one fails — on PostgreSQL a failed statement leaves the
    transaction unusable — the savepoint is rolled back and a fresh one serves the next plugins."""
    answers: dict[str, Any] = {}
    implementations = _implementations(ctx, hook, HookKind.QUERY)
    if not implementations:
        return answers
    savepoint = ctx.session.begin_nested()
    for implementation in implementations:
        plugin = implementation.plugin_name
        try:
            with acting_as(ctx, plugin) as plugin_ctx:
                result = _invoke(implementation, {**kwargs, "ctx": plugin_ctx})
        except Exception as error:
            savepoint.rollback()
            if strict:
                log.exception("plugin %s failed in %s", plugin, hook)
                raise ModuleFailed(
                    f"the {plugin} module failed ({type(error).__name__}); nothing was done"
                ) from error
            record_failure(ctx, plugin, hook, kwargs, error)
            savepoint = ctx.session.begin_nested()
            continue
        if result is not None:
            answers[plugin] = result
    savepoint.commit()
    return answers


def ask(ctx: Ctx, plugin: str, hook: str, **kwargs: Any) -> Any:
    """One plugin's answer to a query hook about its own records (``crm_segment_members``): in a
    savepoint, acting as it. None when it is not enabled for the tenant, does not implement the
    hook, answers None or fails (the failure is recorded, as in ``collect``)."""
    _require_kind(hook, HookKind.QUERY)
    if plugin not in enabled_plugins(ctx):
        return None
    implementation = ctx.runtime.plugins.implementation(plugin, hook)
    if implementation is None:
        return None
    try:
        with ctx.session.begin_nested(), acting_as(ctx, plugin) as plugin_ctx:
            return _invoke(implementation, {**kwargs, "ctx": plugin_ctx})
    except Exception as error:
        record_failure(ctx, plugin, hook, kwargs, error)
        return None


def call_lifecycle(ctx: Ctx, plugin: str, hook: str, **kwargs: Any) -> None:
    """Tell one plugin about a change of its own state for the tenant. A failure fails the change."""
    _require_kind(hook, HookKind.LIFECYCLE)
    implementation = ctx.runtime.plugins.implementation(plugin, hook)
    if implementation is None:
        return
    try:
        with acting_as(ctx, plugin) as plugin_ctx:
            _invoke(implementation, {**kwargs, "ctx": plugin_ctx})
    except DomainError:
        raise
    except Exception as error:
        log.exception("plugin %s failed in %s", plugin, hook)
        raise ModuleFailed(
            f"the {plugin} module failed in {hook} ({type(error).__name__}); nothing was changed"
        ) from error


def replay_failure(ctx: Ctx, failure_id: int) -> PluginFailure:
    """Call the plugin's handler again with the event's records as they are now, in the caller's
    unit of work. Success marks the failure resolved; another failure is kept on it. Only the
    plugin itself is called."""
    failure = get_failure(ctx, failure_id)
    if failure.resolved:
        raise Conflict("this failure was already replayed successfully")
    if failure.plugin not in enabled_plugins(ctx):
        raise Conflict(f"the {failure.plugin} module is not enabled for this tenant")
    implementation = ctx.runtime.plugins.implementation(failure.plugin, failure.hook)
    if implementation is None:
        raise Conflict(f"the {failure.plugin} module no longer handles {failure.hook}")
    failure.replayed_at = utcnow()
    try:
        with ctx.session.begin_nested(), acting_as(ctx, failure.plugin) as plugin_ctx:
            _invoke(implementation, {**decode_arguments(ctx, failure.payload), "ctx": plugin_ctx})
    except Exception as error:
        failure.replay_error = repr(error)
    else:
        failure.resolved = True
        failure.replay_error = ""
    ctx.session.flush()
    return failure
