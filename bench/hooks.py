"""Per-tenant hook dispatch against a bare pluggy call.

50 plugins are registered with the host and 5 of them are enabled for the tenant. We time, per
call:

* ``dispatch``: what core does to fire a hook for a tenant — look up the tenant's enabled plugins
  in the per-process cache, take that set's hook relay, call the hook;
* ``bare``: a plain pluggy PluginManager holding only those 5 plugins, calling the same hook.

The last line is JSON with both figures and ``ratio`` = dispatch / bare (target <= 1.5).

    python bench/hooks.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pluggy

from core import contract as hookspecs
from core.access.permissions import core_registry
from core.marketplace.state import PluginStateCache, TenantPlugins
from core.plugins.host import LoadedPlugin, PluginHost
from core.plugins.manifest import parse_manifest

REGISTERED, ENABLED, TENANT = 50, 5, 1


def make_plugin(index: int) -> object:
    class Plugin:
        @hookspecs.hookimpl
        def crm_portal_notification_counts(self, ctx: object, client: object) -> dict[str, int]:
            return {f"p{index}": index}

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
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    host = PluginHost(core_registry())
    plugins = {f"bench{i:02d}": make_plugin(i) for i in range(REGISTERED)}
    for name, plugin in plugins.items():
        host.pm.register(plugin, name=name)
        host.plugins[name] = LoadedPlugin(name=name, manifest=manifest(name), module=plugin, package="bench")
    enabled = frozenset(sorted(plugins)[:: REGISTERED // ENABLED][:ENABLED])
    state = PluginStateCache(host)
    state._entries[TENANT] = TenantPlugins(
        enabled=enabled, valid_until=None
    )  # a warm cache, as in steady state

    bare = pluggy.PluginManager(hookspecs.PROJECT)
    bare.add_hookspecs(hookspecs.CrmHooks)
    for name in sorted(enabled, reverse=True):
        bare.register(plugins[name], name=name)

    def dispatch() -> object:
        return host.hooks_for(state.enabled(None, TENANT)).crm_portal_notification_counts(
            ctx=None, client=None
        )

    def plain() -> object:
        return bare.hook.crm_portal_notification_counts(ctx=None, client=None)

    assert dispatch() == plain() and len(plain()) == ENABLED  # same five implementations, same answers

    def per_call_ns(fn: object) -> float:
        runs = timeit.repeat(fn, number=args.calls, repeat=args.repeat)  # type: ignore[arg-type]
        return statistics.median(runs) / args.calls * 1e9

    # Interleave the two so machine noise hits both alike.
    dispatch_ns, bare_ns = [], []
    for _ in range(3):
        dispatch_ns.append(per_call_ns(dispatch))
        bare_ns.append(per_call_ns(plain))
    d, b = statistics.median(dispatch_ns), statistics.median(bare_ns)
    print(f"registered plugins:             {REGISTERED}")
    print(f"enabled for the tenant:         {ENABLED}")
    print(f"per-tenant dispatch, per call:  {d:8.0f} ns")
    print(f"bare pluggy call, per call:     {b:8.0f} ns")
    print(f"ratio dispatch / bare:          {d / b:8.3f}  (target <= 1.5)")
    print(
        json.dumps(
            {
                "registered": REGISTERED,
                "enabled": ENABLED,
                "dispatch_ns": round(d, 1),
                "bare_ns": round(b, 1),
                "ratio": round(d / b, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
