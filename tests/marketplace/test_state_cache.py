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
