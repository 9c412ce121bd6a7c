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

from pluggy import HookImpl, HookRelay

from core.context import Ctx
from core.contract import HookKind, announcer_of, kind_of
from core.db.base import utcnow
from core.db.isolation import Isolation
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
    declared = _KINDS.get(hook) or _KINDS.setdefault(hook, kind_of(hook))
    if declared is not kind:
        raise TypeError(f"{hook} is a {declared.value} hook, not a {kind.value} hook")


_KINDS: dict[str, HookKind] = {}  # the contract's declared kinds, looked up once per hook


def _implementations(ctx: Ctx, hook: str, kind: HookKind) -> tuple[HookImpl, ...]:
    _require_kind(hook, kind)
    names = enabled_plugins(ctx)
    return ctx.runtime.plugins.implementations(names, hook) if names else ()


@contextmanager
def acting_as(ctx: Ctx, plugin: str) -> Iterator[Ctx]:
    """The same unit of work, acting as the plugin (for its changes in the operation log)."""
    acting = _ActingAsPlugins(ctx, {})
    try:
        yield acting.as_plugin(plugin)
    finally:
        acting.end()


class _ActingAsPlugins:
    """The unit of work lent to plugins for one hook call: ``ctx.principal`` is None (plugins act
    as the system) and the operation log names the plugin being called. ``acting_as`` without a
    generator's cost, one plugin ``Ctx`` and one argument map per call: this runs for every plugin
    of every hook call."""

    __slots__ = ("arguments", "info", "saved")

    def __init__(self, ctx: Ctx, kwargs: dict[str, Any]) -> None:
        self.info = info = ctx.session.info
        self.saved = (info.get("principal", _UNSET), info.get("actor_label", _UNSET))
        info["principal"] = None
        # The plugins' Ctx is the same for every call in this unit of work: made once (again if a
        # plugin changed the one it was given).
        plugin_ctx = info.get(_PLUGIN_CTX)
        if plugin_ctx is None or plugin_ctx.runtime is not ctx.runtime or plugin_ctx.principal is not None:
            plugin_ctx = info[_PLUGIN_CTX] = Ctx(session=ctx.session, principal=None, runtime=ctx.runtime)
        self.arguments = {**kwargs, "ctx": plugin_ctx}

    def as_plugin(self, plugin: str) -> Ctx:
        self.info["actor_label"] = f"plugin:{plugin}"
        return self.arguments["ctx"]

    def call(self, implementation: HookImpl) -> Any:
        self.info["actor_label"] = f"plugin:{implementation.plugin_name}"
        return implementation.function(*map(self.arguments.__getitem__, implementation.argnames))

    def end(self) -> None:
        info, (principal, label) = self.info, self.saved
        if principal is _UNSET:
            info.pop("principal", None)
        else:
            info["principal"] = principal
        if label is _UNSET:
            info.pop("actor_label", None)
        else:
            info["actor_label"] = label


_UNSET = object()
_PLUGIN_CTX = "crm_plugin_ctx"  # session.info: the Ctx plugins are called with


def fire(ctx: Ctx, hook: str, **kwargs: Any) -> None:
    """Deliver one of core's domain events. Each plugin's handler is isolated: a failure undoes
    only that handler's changes, is recorded for replay, and stops neither core nor the others
    (the savepoint is begun only if the handler reaches the database: ``core.db.isolation``). A
    module's event (``announced_by``) is refused: modules ``announce`` their own."""
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
    events are delivered: each enabled plugin's handler isolated, a failure recorded for replay.

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
    implementations = _implementations(ctx, hook, HookKind.EVENT)
    if not implementations:
        return
    failures: list[tuple[str, Exception]] = []
    isolation = Isolation(ctx.session)  # one per call, its savepoint begun (and ended) per handler
    acting = _ActingAsPlugins(ctx, kwargs)
    try:
        for implementation in implementations:
            try:
                acting.call(implementation)
                isolation.keep()
            except Exception as error:
                isolation.undo()
                plugin = implementation.plugin_name
                log.warning("plugin %s failed on %s for tenant %s: %r", plugin, hook, ctx.tenant_id, error)
                failures.append((plugin, error))
    finally:
        acting.end()
        isolation.close()
    # Recorded once no handler runs any more: a failure's row must not fall into the next
    # handler's savepoint (and be undone with it).
    for plugin, error in failures:
        record_failure(ctx, plugin, hook, kwargs, error)


def chain(ctx: Ctx, hook: str, **kwargs: Any) -> None:
    """Call a chained hook: each plugin in turn; any failure fails the whole action."""
    implementations = _implementations(ctx, hook, HookKind.CHAINED)
    if not implementations:
        return
    acting = _ActingAsPlugins(ctx, kwargs)
    try:
        for implementation in implementations:
            try:
                acting.call(implementation)
            except DomainError:
                raise  # the plugin refused, saying why (e.g. a coupon is used up)
            except Exception as error:
                raise _module_failed(implementation.plugin_name, hook, error) from error
    finally:
        acting.end()


def _module_failed(plugin: str, hook: str, error: Exception) -> ModuleFailed:
    log.error("plugin %s failed in %s", plugin, hook, exc_info=error)
    return ModuleFailed(f"the {plugin} module failed ({type(error).__name__}); nothing was done")


def collect(ctx: Ctx, hook: str, *, strict: bool = False, **kwargs: Any) -> dict[str, Any]:
    """Each plugin's answer to a query hook; a failing plugin is recorded and left out. With
    ``strict`` (a guard, where a missing answer would wrongly allow an action) a failure fails the
    action instead, as in a chained hook.

    Query hooks only read, so the plugins share one isolation rather than one each, begun only if
    one of them reaches the database: when one fails — on PostgreSQL a failed statement leaves
    the transaction unusable — its savepoint is rolled back and a fresh one serves the next."""
    answers: dict[str, Any] = {}
    implementations = _implementations(ctx, hook, HookKind.QUERY)
    if not implementations:
        return answers
    failures: list[tuple[str, Exception]] = []
    isolation = Isolation(ctx.session)
    acting = _ActingAsPlugins(ctx, kwargs)
    try:
        for implementation in implementations:
            try:
                result = acting.call(implementation)
            except Exception as error:
                isolation.undo()
                if strict:
                    raise _module_failed(implementation.plugin_name, hook, error) from error
                failures.append((implementation.plugin_name, error))
                continue
            if result is not None:
                answers[implementation.plugin_name] = result
        isolation.keep()
    finally:
        acting.end()
        isolation.close()
    for plugin, error in failures:
        record_failure(ctx, plugin, hook, kwargs, error)
    return answers


def ask(ctx: Ctx, plugin: str, hook: str, **kwargs: Any) -> Any:
    """One plugin's answer to a query hook about its own records (``crm_segment_members``):
    isolated, acting as it. None when it is not enabled for the tenant, does not implement the
    hook, answers None or fails (the failure is recorded, as in ``collect``)."""
    _require_kind(hook, HookKind.QUERY)
    if plugin not in enabled_plugins(ctx):
        return None
    implementation = ctx.runtime.plugins.implementation(plugin, hook)
    if implementation is None:
        return None
    answer, error = _isolated_call(ctx, implementation, kwargs)
    if error is not None:
        record_failure(ctx, plugin, hook, kwargs, error)
    return answer


def _isolated_call(
    ctx: Ctx, implementation: HookImpl, kwargs: dict[str, Any]
) -> tuple[Any, Exception | None]:
    """One plugin's call, isolated: its answer, or None and the error that undid its work."""
    acting = _ActingAsPlugins(ctx, kwargs)
    try:
        with Isolation(ctx.session):
            answer = acting.call(implementation)
    except Exception as error:
        return None, error
    finally:
        acting.end()
    return answer, None


def call_lifecycle(ctx: Ctx, plugin: str, hook: str, **kwargs: Any) -> None:
    """Tell one plugin about a change of its own state for the tenant. A failure fails the change."""
    _require_kind(hook, HookKind.LIFECYCLE)
    implementation = ctx.runtime.plugins.implementation(plugin, hook)
    if implementation is None:
        return
    acting = _ActingAsPlugins(ctx, kwargs)
    try:
        acting.call(implementation)
    except DomainError:
        raise
    except Exception as error:
        log.exception("plugin %s failed in %s", plugin, hook)
        raise ModuleFailed(
            f"the {plugin} module failed in {hook} ({type(error).__name__}); nothing was changed"
        ) from error
    finally:
        acting.end()


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
    _answer, error = _isolated_call(ctx, implementation, decode_arguments(ctx, failure.payload))
    failure.resolved = error is None
    failure.replay_error = "" if error is None else repr(error)
    ctx.session.flush()
    return failure
