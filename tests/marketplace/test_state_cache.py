"""The per-process cache of each tenant's enabled modules."""

from __future__ import annotations

from core.marketplace.state import PluginStateCache


def test_an_answer_read_while_the_state_changed_is_not_kept(pk, monkeypatch):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    cache = PluginStateCache(pk.runtime.plugins)
    with pk.db.session(tenant_id=acme.id) as session:
        assert cache.enabled(session, acme.id) == frozenset({"fixture_ticker"})
        assert acme.id in cache._entries  # kept: nothing changed while it was read
        cache.invalidate(acme.id)
        read = session.execute

        def read_while_another_thread_commits(*args, **kwargs):
            rows = read(*args, **kwargs)
            cache.invalidate(acme.id)  # the other thread's commit lands between read and store
            return rows

        monkeypatch.setattr(session, "execute", read_while_another_thread_commits)
        assert cache.enabled(session, acme.id) == frozenset({"fixture_ticker"})  # answers what it read…
        assert acme.id not in cache._entries  # …but does not keep it: the next request reads again


def _reads_of_tenant_plugins(session, monkeypatch) -> list[str]:
    """The statements over tenant_plugins the session runs from now on."""
    seen: list[str] = []
    run = session.execute

    def counting(statement, *args, **kwargs):
        if "tenant_plugins" in str(statement):
            seen.append(str(statement))
        return run(statement, *args, **kwargs)

    monkeypatch.setattr(session, "execute", counting)
    monkeypatch.setattr(session, "scalar", lambda statement, *a, **k: counting(statement, *a, **k).scalar())
    return seen


def test_a_module_reads_its_settings_from_the_cache_and_sees_each_change(pk, monkeypatch):
    from core.marketplace.settings import settings_of, update_settings

    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    with acme.ctx() as ctx:
        settings_of(ctx, "fixture_ticker")  # the tenant's modules are in the cache now
    with acme.ctx() as ctx:
        reads = _reads_of_tenant_plugins(ctx.session, monkeypatch)
        settings = settings_of(ctx, "fixture_ticker")
        assert settings["greeting"] == "hello" and reads == []  # no query: every event asks
        settings["greeting"] = "changed by the caller"  # a copy: the cache is not touched
        assert settings_of(ctx, "fixture_ticker")["greeting"] == "hello"
        monkeypatch.undo()
    # Another process's cache, as it stands before the change.
    elsewhere = PluginStateCache(pk.runtime.plugins)
    with pk.db.session(tenant_id=acme.id) as session:
        assert elsewhere.stored_settings(session, acme.id, "fixture_ticker") == {}
    with acme.ctx() as ctx:  # as the platform
        update_settings(ctx, "fixture_ticker", {"greeting": "hi"})
        # Within the change's own unit of work, before it commits: the row, not the cache.
        assert settings_of(ctx, "fixture_ticker")["greeting"] == "hi"
    with acme.ctx() as ctx:
        assert settings_of(ctx, "fixture_ticker")["greeting"] == "hi"  # this process: dropped at commit
    with pk.db.session(all_tenants=True) as session:
        from sqlalchemy import select

        from core.tenancy.models import Tenant

        generations = dict(session.execute(select(Tenant.id, Tenant.marketplace_generation)).all())
    elsewhere.refresh_from(generations)  # what its watcher does when told
    with pk.db.session(tenant_id=acme.id) as session:
        assert elsewhere.stored_settings(session, acme.id, "fixture_ticker") == {"greeting": "hi"}
