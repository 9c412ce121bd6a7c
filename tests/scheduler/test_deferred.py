"""Deferred work (``core.sdk.defer``): written with the unit of work that asked for it, done once it
commits, once per key, never lost when asked for again while under way, retried after a failure,
never done twice by two workers, and never for a tenant where the module is off."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.config import Settings
from core.db.base import utcnow
from core.plugins.host import PluginRejected, check_deferred_handlers
from core.scheduler import deferred
from core.scheduler.deferred import DeferredWorker, defer, drain
from core.scheduler.models import DeferredWork
from core.testing import expect

M = "/api/v1/marketplace"


def _notes(tenant) -> list[str]:
    from fixture_ticker.service import notes

    with tenant.ctx() as ctx:
        return [note.text for note in notes(ctx) if note.text.startswith("later ")]


def _waiting(tenant) -> list[DeferredWork]:
    with tenant.ctx() as ctx:
        return list(ctx.session.scalars(select(DeferredWork).order_by(DeferredWork.key)))


def _settings(tenant, **values) -> None:
    expect(tenant.admin.put(f"{M}/fixture_ticker/settings", json={"values": values}), 200)


class _HeldWorker:
    """Stands for a server's background worker that is busy: commits only wake it, so the test
    decides when the work is done."""

    running = True

    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


@contextmanager
def _held(pk) -> Iterator[_HeldWorker]:
    worker = _HeldWorker()
    pk.runtime.deferred = worker
    try:
        yield worker
    finally:
        pk.runtime.deferred = None


@pytest.fixture
def acme(pk):
    tenant = pk.tenant("acme")
    tenant.install("fixture_ticker")
    return tenant


def test_work_is_written_with_the_unit_of_work_and_done_once_per_key_after_it_commits(acme):
    with acme.ctx() as ctx:
        for key in ("7", "7", "8", "7"):
            defer(ctx, "fixture_ticker", "later", key)
        # Nothing is written, let alone done, before the unit of work commits.
        assert ctx.session.scalars(select(DeferredWork)).all() == []
        assert _notes(acme) == []
    assert sorted(_notes(acme)) == ["later 7", "later 8"]
    assert _waiting(acme) == []


@pytest.mark.parametrize(
    "handlers",
    [[("later", print)], {"later": "not callable"}, {"": print}, {"x" * 101: print}, {7: print}],
    ids=["not a mapping", "not callable", "empty task", "task too long", "task not a name"],
)
def test_a_plugins_deferred_handlers_are_checked_when_it_loads(handlers):
    with pytest.raises(PluginRejected, match="crm_deferred_handlers must return"):
        check_deferred_handlers(handlers)
    assert check_deferred_handlers({"later": print}) == {"later": print}


def test_work_deferred_by_a_unit_of_work_that_rolls_back_is_never_done(acme):
    with pytest.raises(RuntimeError), acme.ctx() as ctx:
        defer(ctx, "fixture_ticker", "later", "9")
        raise RuntimeError("the action failed")
    with acme.ctx():
        pass  # a later commit of the same kind does nothing for it either
    assert _notes(acme) == [] and _waiting(acme) == []


def test_only_declared_tasks_and_bounded_keys_are_accepted(acme):
    with acme.ctx() as ctx:
        with pytest.raises(ValueError, match="no handler"):
            defer(ctx, "fixture_ticker", "nonsense", "1")
        with pytest.raises(ValueError, match="no handler"):
            defer(ctx, "no_such_plugin", "later", "1")
        with pytest.raises(ValueError, match="1 to 100"):
            defer(ctx, "fixture_ticker", "later", "x" * 101)


def test_a_server_worker_is_woken_by_the_commit_and_does_the_work_in_the_background(pk, acme):
    with _held(pk) as held, acme.ctx() as ctx:
        defer(ctx, "fixture_ticker", "later", "1")
    assert held.wakes == 1 and _notes(acme) == []  # the commit returned without doing it
    worker = DeferredWorker(pk.runtime, interval_s=30.0).start()  # polls rarely: only a wake-up is quick
    try:
        with acme.ctx() as ctx:
            defer(ctx, "fixture_ticker", "later", "2")
        _until(lambda: len(_notes(acme)) == 2)
        assert sorted(_notes(acme)) == ["later 1", "later 2"]
    finally:
        worker.stop()
    assert pk.runtime.deferred is None and not worker.running


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_api_workers_that_leave_the_work_to_job_workers_only_write_it(pk, acme, monkeypatch):
    monkeypatch.setattr(pk.runtime, "settings", replace(pk.runtime.settings, deferred_work="workers"))
    with acme.ctx() as ctx:
        defer(ctx, "fixture_ticker", "later", "6")
    assert _notes(acme) == [] and [row.key for row in _waiting(acme)] == ["6"]
    worker = DeferredWorker(pk.runtime, interval_s=0.05).start()  # crm worker's, polling
    try:
        _until(lambda: _notes(acme) == ["later 6"])
    finally:
        worker.stop()
    assert _notes(acme) == ["later 6"] and _waiting(acme) == []


def test_who_does_deferred_work_is_configured_by_name(monkeypatch):
    monkeypatch.setenv("CRM_DEFERRED_WORK", "Workers")
    assert Settings.from_env().deferred_work == "workers"
    monkeypatch.delenv("CRM_DEFERRED_WORK")
    assert Settings.from_env().deferred_work == "inline"
    monkeypatch.setenv("CRM_DEFERRED_WORK", "later")
    with pytest.raises(ValueError, match="CRM_DEFERRED_WORK must be one of inline, workers"):
        Settings.from_env()


def test_a_key_deferred_again_while_its_work_is_under_way_is_done_again(pk, acme):
    with _held(pk), acme.ctx() as ctx:
        defer(ctx, "fixture_ticker", "later", "5")
    lease = utcnow() + timedelta(seconds=deferred.LEASE_S)
    claimed = deferred.claim(pk.runtime, acme.id, lease)
    assert [key for _id, _plugin, _task, key, _attempts in claimed] == ["5"]
    with _held(pk), acme.ctx() as ctx:  # the event again, while the first is being handled
        defer(ctx, "fixture_ticker", "later", "5")
    deferred.do_claimed(pk.runtime, acme.id, claimed, lease)
    assert _notes(acme) == ["later 5"]
    [again] = _waiting(acme)  # kept for another pass, due now
    assert again.run_after <= utcnow()
    assert drain(pk.runtime, acme.id) == 1
    assert _notes(acme) == ["later 5", "later 5"] and _waiting(acme) == []


def test_a_failing_handler_is_undone_and_its_keys_tried_again_later(pk, acme):
    _settings(acme, fail_events=True)
    with acme.ctx() as ctx:
        defer(ctx, "fixture_ticker", "later", "3")
    assert _notes(acme) == []  # the failed call's notes were undone
    [row] = _waiting(acme)
    assert row.attempts == 1 and "misconfigured" in row.error
    assert row.run_after >= utcnow() + timedelta(seconds=deferred.RETRY_S - 1)
    assert drain(pk.runtime, acme.id) == 0  # not due yet
    _settings(acme, fail_events=False)
    with acme.ctx() as ctx:
        ctx.session.execute(update(DeferredWork).values(run_after=utcnow() - timedelta(seconds=1)))
    assert drain(pk.runtime, acme.id) == 1
    assert _notes(acme) == ["later 3"] and _waiting(acme) == []


def test_work_is_dropped_where_the_module_was_disabled_meanwhile(pk, acme):
    with _held(pk), acme.ctx() as ctx:
        defer(ctx, "fixture_ticker", "later", "4")
    expect(acme.admin.post(f"{M}/fixture_ticker/disable"), 200)
    assert drain(pk.runtime) == 1
    assert _notes(acme) == [] and _waiting(acme) == []


def test_each_tenant_drains_its_own_work(pk, acme):
    globex = pk.tenant("globex")
    globex.install("fixture_ticker")
    with _held(pk):
        for tenant, key in ((acme, "a"), (globex, "g")):
            with tenant.ctx() as ctx:
                defer(ctx, "fixture_ticker", "later", key)
    assert drain(pk.runtime, globex.id) == 1
    assert _notes(globex) == ["later g"] and _notes(acme) == []
    assert drain(pk.runtime) == 1
    assert _notes(acme) == ["later a"]


def test_two_workers_draining_at_once_do_each_key_once(pk, acme, monkeypatch):
    monkeypatch.setattr(deferred, "BATCH", 7)  # many small claims, so the two workers interleave
    keys = [str(k) for k in range(120)]
    with _held(pk), acme.ctx() as ctx:
        for key in keys:
            defer(ctx, "fixture_ticker", "later", key)
    start = threading.Barrier(2)
    done: list[int] = []

    def work() -> None:
        start.wait()
        done.append(drain(pk.runtime))

    workers = [threading.Thread(target=work) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(60)
    assert sum(done) == len(keys)
    assert sorted(_notes(acme)) == sorted(f"later {key}" for key in keys)
    assert _waiting(acme) == []


def test_staff_and_account_managers_see_deferred_work_that_keeps_failing_and_why(pk, acme):
    """``GET /jobs/deferred`` (``jobs.read``) shows the company's deferred work waiting, by module
    and task; an account manager sees any tenant's (``/platform/tenants/{id}/deferred-work``).
    Another company's work is never shown."""
    globex = pk.tenant("globex")
    globex.install("fixture_ticker")
    _settings(acme, fail_events=True)
    with acme.ctx() as ctx:  # its handler fails at once, as the commit returns: both keys wait
        defer(ctx, "fixture_ticker", "later", "1")
        defer(ctx, "fixture_ticker", "later", "2")
    with _held(pk), acme.ctx() as ctx:  # and one not tried yet
        defer(ctx, "fixture_ticker", "later", "3")
    [group] = expect(acme.admin.get("/api/v1/jobs/deferred"), 200)
    assert {k: group[k] for k in ("plugin", "task", "waiting", "failing")} == {
        "plugin": "fixture_ticker",
        "task": "later",
        "waiting": 3,
        "failing": 2,
    }
    assert "misconfigured" in group["last_error"]
    assert expect(globex.admin.get("/api/v1/jobs/deferred"), 200) == []
    assert acme.user(["clients.read"]).get("/api/v1/jobs/deferred").status_code == 403
    assert acme.user(["jobs.read"]).get("/api/v1/jobs/deferred").status_code == 200

    operator = pk.operator()
    assert expect(operator.get(f"/api/v1/platform/tenants/{acme.id}/deferred-work"), 200) == [group]
    assert expect(operator.get(f"/api/v1/platform/tenants/{globex.id}/deferred-work"), 200) == []
    assert operator.get("/api/v1/platform/tenants/999999/deferred-work").status_code == 404
    assert acme.admin.get(f"/api/v1/platform/tenants/{acme.id}/deferred-work").status_code in (401, 403)

    _settings(acme, fail_events=False)  # fixed: the work is done on its next try, and shows no more
    with acme.ctx() as ctx:
        ctx.session.execute(update(DeferredWork).values(run_after=utcnow() - timedelta(seconds=1)))
    assert drain(pk.runtime, acme.id) == 3
    assert expect(acme.admin.get("/api/v1/jobs/deferred"), 200) == []
