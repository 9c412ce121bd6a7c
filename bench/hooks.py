"""Hook dispatch as core really does it, against bare pluggy with the same implementations.

50 plugins are registered with the host and 5 of them are enabled for the tenant; each
implementation does nothing, so what is timed is the dispatch. Per call:

* ``relay``: the tenant's enabled plugins from the per-process cache, that set's hook relay, the
  hook called (no isolation) — the figure earlier benchmarks reported;
* ``collect``, ``fire``, ``chain``: the functions core calls for a query hook (the plugins share
  one isolation), an event (each handler isolated: a failing one is undone alone) and a chained
  hook (all or nothing), on a real unit of work — SQLite in memory, or the database of
  ``CRM_DATABASE_URL``. Isolation is lazy (``core.db.isolation``): a savepoint is begun only when a
  handler reaches the database, and these handlers do not, so what is timed is the dispatch;
* ``bare``: a plain pluggy PluginManager holding only those 5 plugins, calling the same hook.

The last line is JSON with every figure and the ratios to bare pluggy (issue 13's targets:
collect <= 2, fire <= 3).

    python bench/hooks.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import timeit
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pluggy

from core import contract as hookspecs
from core.access.permissions import core_registry
from core.context import Ctx
from core.db.session import Database
from core.marketplace.state import PluginStateCache, TenantPlugins
from core.plugins.dispatch import chain, collect, fire
from core.plugins.host import LoadedPlugin, PluginHost
from core.plugins.manifest import parse_manifest

REGISTERED, ENABLED, TENANT = 50, 5, 1
HOOKS = {  # what core calls -> the hook and its arguments but ctx
    "collect": ("crm_portal_notification_counts", {"client": None}),
    "fire": ("crm_deposit_approved", {"deposit": None}),
    "chain": ("crm_price_order", {"client": None, "challenge": None, "quote": None}),
}


def make_plugin(index: int) -> object:
    class Plugin:
        @hookspecs.hookimpl
        def crm_portal_notification_counts(self, ctx: object, client: object) -> dict[str, int]:
            return {f"p{index}": index}

        @hookspecs.hookimpl
        def crm_deposit_approved(self, ctx: object, deposit: object) -> None:
            return None

        @hookspecs.hookimpl
        def crm_price_order(self, ctx: object, client: object, challenge: object, quote: object) -> None:
            return None

    return Plugin()


def manifest(name: str) -> object:
    return parse_manifest(
        {
            "name": name,
            "display_name": name,
            "version": "1.0",
            "summary": "bench",
            "category": "other",
            "vendor": {"name": "bench"},
            "price": {"model": "free"},
            "install_policy": "self_service",
            "core": ">=0",
            "hooks": ">=1",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    host = PluginHost(core_registry())
    plugins = {f"bench{i:02d}": make_plugin(i) for i in range(REGISTERED)}
    for name, plugin in plugins.items():
        host.pm.register(plugin, name=name)
        host.plugins[name] = LoadedPlugin(name=name, manifest=manifest(name), module=plugin, package="bench")
    enabled = frozenset(sorted(plugins)[:: REGISTERED // ENABLED][:ENABLED])
    state = PluginStateCache(host)
    state._entries[TENANT] = TenantPlugins(enabled=enabled, valid_until=None, settings={})  # warm

    bare = pluggy.PluginManager(hookspecs.PROJECT)
    bare.add_hookspecs(hookspecs.CrmHooks)
    for name in sorted(enabled, reverse=True):
        bare.register(plugins[name], name=name)

    url = os.environ.get("CRM_DATABASE_URL", "sqlite://")
    database = Database(url)
    session = database.session(tenant_id=TENANT)
    session.connection()  # the unit of work's transaction is open, as in a request
    ctx = Ctx(session=session, principal=None, runtime=SimpleNamespace(plugins=host, plugin_state=state))
    core_calls = {"collect": collect, "fire": fire, "chain": chain}

    def timed(fn: Any, calls: int) -> float:
        runs = timeit.repeat(fn, number=calls, repeat=args.repeat)
        return statistics.median(runs) / calls * 1e9

    relay = lambda: host.hooks_for(state.enabled(session, TENANT)).crm_portal_notification_counts(  # noqa: E731
        ctx=None, client=None
    )
    plain_counts = lambda: bare.hook.crm_portal_notification_counts(ctx=None, client=None)  # noqa: E731
    answers = collect(ctx, HOOKS["collect"][0], client=None)
    assert relay() == plain_counts() and sorted(map(str, answers.values())) == sorted(
        map(str, plain_counts())
    )
    samples: dict[str, list[float]] = {}
    for _ in range(3):  # interleaved, so that machine noise hits each alike
        samples.setdefault("relay", []).append(timed(relay, args.calls * 10))
        samples.setdefault("bare_collect", []).append(timed(plain_counts, args.calls * 10))
        for kind, (hook, kwargs) in HOOKS.items():
            core_call = partial(core_calls[kind], ctx, hook, **kwargs)
            samples.setdefault(kind, []).append(timed(core_call, args.calls))
            bare_call = partial(getattr(bare.hook, hook), ctx=None, **kwargs)
            samples.setdefault(f"bare_{kind}", []).append(timed(bare_call, args.calls * 10))
    session.rollback()
    session.close()
    database.engine.dispose()
    figures = {name: statistics.median(values) for name, values in samples.items()}
    ratios = {kind: figures[kind] / figures[f"bare_{kind}"] for kind in HOOKS}
    ratios["relay"] = figures["relay"] / figures["bare_collect"]
    print(f"engine: {database.dialect}; {REGISTERED} plugins registered, {ENABLED} enabled for the tenant")
    print(f"relay (cache + relay + call, no isolation): {figures['relay']:9.0f} ns  x{ratios['relay']:.2f}")
    for kind in HOOKS:
        print(
            f"{kind:8} through core: {figures[kind]:9.0f} ns; bare pluggy {figures[f'bare_{kind}']:7.0f} ns"
            f"  x{ratios[kind]:.2f}"
        )
    print("targets: collect <= 2x, fire <= 3x bare pluggy (plus the handlers' own work: none here)")
    print(
        json.dumps(
            {
                "engine": database.dialect,
                "registered": REGISTERED,
                "enabled": ENABLED,
                **{f"{name}_ns": round(value, 1) for name, value in figures.items()},
                **{f"{kind}_ratio": round(value, 2) for kind, value in ratios.items()},
                "target": "collect_ratio <= 2, fire_ratio <= 3",
            }
        )
    )


if __name__ == "__main__":
    main()
