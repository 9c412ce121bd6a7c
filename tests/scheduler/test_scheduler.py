"""The scheduler: DST-correct periods, exactly one completed run per period, leases, and jobs
that never run where their module is off."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from core.contract import JobContext
from core.errors import InvalidInput, NotFound
from core.scheduler import cron
from core.scheduler.models import JobRun, JobSchedule, RunStatus
from core.scheduler.service import ensure_schedule
from core.scheduler.worker import Worker
from core.testing import expect

NY = "America/New_York"
WEEKLY = "30 1 * * 0"  # Sundays 01:30


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_fall_back_sunday_runs_once_and_spring_forward_sunday_is_not_skipped():
    # 2026-11-01: clocks go back at 02:00 EDT, so 01:30 happens twice; it fires once (05:30 UTC).
    assert cron.next_after(WEEKLY, NY, _at("2026-10-31T12:00")) == _at("2026-11-01T05:30")
    assert cron.next_after(WEEKLY, NY, _at("2026-11-01T05:30")) == _at("2026-11-08T06:30")
    # 2026-03-08: clocks go forward at 02:00 EST; 01:30 still exists and fires (06:30 UTC).
    assert cron.next_after(WEEKLY, NY, _at("2026-03-07T12:00")) == _at("2026-03-08T06:30")
    assert cron.next_after(WEEKLY, NY, _at("2026-03-08T06:30")) == _at("2026-03-15T05:30")
    # A job inside the skipped hour runs right after the jump.
    assert cron.next_after("30 2 * * 0", NY, _at("2026-03-07T12:00")) == _at("2026-03-08T07:00")


def test_missed_periods_catch_up_with_the_latest_only():
    period, following = cron.latest_due(WEEKLY, NY, _at("2026-11-01T05:30"), _at("2026-11-20T00:00"))
    assert (period, following) == (_at("2026-11-15T06:30"), _at("2026-11-22T06:30"))


def test_bad_specs_are_refused_naming_the_field():
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="cron"):
        cron.validate("61 * * * *", NY)
    with pytest.raises(InvalidInput, match="timezone"):
        cron.validate(WEEKLY, "Mars/Olympus")


def _schedule(tenant, cron_spec: str = WEEKLY, timezone: str = NY, key: str = "") -> int:
    with tenant.ctx() as ctx:
        return ensure_schedule(
            ctx, "fixture_ticker", "fixture_ticker.tick", cron=cron_spec, timezone=timezone, key=key
        ).id


def _due_now(pk, schedule_id: int, when: datetime) -> None:
    with pk.db.transaction(all_tenants=True) as session:
        session.execute(update(JobSchedule).where(JobSchedule.id == schedule_id).values(next_run_at=when))


def _runs(pk, tenant_id: int) -> list[JobRun]:
    with pk.db.session(tenant_id=tenant_id) as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.period)))


def test_a_worker_clock_walking_through_both_transitions_runs_each_sunday_once(pk):
    acme = pk.tenant("acme", timezone=NY)
    acme.install("fixture_ticker")
    for start, end, expected in [
        (
            "2026-10-24T00:00",
            "2026-11-16T00:00",
            ["2026-10-25T05:30", "2026-11-01T05:30", "2026-11-08T06:30", "2026-11-15T06:30"],
        ),
        (
            "2026-02-28T00:00",
            "2026-03-23T00:00",
            ["2026-03-01T06:30", "2026-03-08T06:30", "2026-03-15T05:30", "2026-03-22T05:30"],
        ),
    ]:
        schedule_id = _schedule(acme, key=start)
        _due_now(pk, schedule_id, cron.next_after(WEEKLY, NY, _at(start)))
        worker = Worker(pk.runtime)
        clock = _at(start)
        while clock < _at(end):  # a pass every 10 minutes, as a worker would
            worker.tick(clock)
            clock += timedelta(minutes=10)
        periods = [r.period for r in _runs(pk, acme.id) if r.key == start]
        assert periods == [_at(p) for p in expected]
    assert {r.status for r in _runs(pk, acme.id)} == {RunStatus.SUCCEEDED}


def test_a_period_runs_once_however_many_passes_and_workers_see_it(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    schedule_id = _schedule(acme, "0 * * * *", "UTC")
    now = _at("2026-06-01T10:00")
    _due_now(pk, schedule_id, now)
    first, second = Worker(pk.runtime, name="w1"), Worker(pk.runtime, name="w2")
    assert len(first.tick(now + timedelta(seconds=5))) == 1
    assert second.tick(now + timedelta(seconds=6)) == []
    assert first.tick(now + timedelta(seconds=7)) == []
    [run] = _runs(pk, acme.id)
    assert (run.status, run.period, run.worker) == (RunStatus.SUCCEEDED, now, "w1")
    assert run.duration_ms is not None
    assert (
        expect(acme.admin.get("/api/v1/plugins/fixture_ticker/notes"), 200).count(f"tick {now.isoformat()}")
        == 1
    )
    history = expect(acme.admin.get("/api/v1/jobs/runs"), 200)["items"]
    assert [(h["job_type"], h["status"], h["trigger"]) for h in history] == [
        ("fixture_ticker.tick", "succeeded", "schedule")
    ]
    schedules = expect(acme.admin.get("/api/v1/jobs/schedules"), 200)
    assert schedules[0]["next_run_at"].startswith("2026-06-01T11:00")


def test_a_worker_that_lost_its_lease_cannot_commit_its_work(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    schedule_id = _schedule(acme, "0 * * * *", "UTC")
    now = _at("2026-06-01T10:00")
    _due_now(pk, schedule_id, now)
    slow = Worker(pk.runtime, name="slow", lease=timedelta(minutes=1))
    [claim] = slow.claim(now)  # claims, then stalls past its lease
    rescuer = Worker(pk.runtime, name="rescuer", lease=timedelta(minutes=1))
    [rescued] = rescuer.tick(now + timedelta(minutes=2))
    assert (rescued.status, rescued.worker, rescued.attempt) == (RunStatus.SUCCEEDED, "rescuer", 2)
    assert slow.execute(claim) is None  # too late: nothing of it commits
    notes = expect(acme.admin.get("/api/v1/plugins/fixture_ticker/notes"), 200)
    assert notes.count(f"tick {now.isoformat()}") == 1


@pytest.mark.parametrize("switch_off", ["disable", "uninstall", "expire"])
def test_jobs_never_run_where_the_module_is_off(pk, switch_off):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    schedule_id = _schedule(acme, "0 * * * *", "UTC")
    if switch_off == "expire":  # as for a paid module whose licence ran out
        from core.marketplace.models import TenantPlugin
        from core.marketplace.state import mark_changed

        with pk.db.transaction(tenant_id=acme.id) as session:
            session.execute(update(TenantPlugin).values(licence_expires_at=_at("2020-01-01T00:00")))
            mark_changed(session, acme.id)
    else:
        expect(acme.admin.post(f"/api/v1/marketplace/fixture_ticker/{switch_off}"), 200)
    now = _at("2026-06-01T10:00")
    _due_now(pk, schedule_id, now)
    assert Worker(pk.runtime).tick(now) == []
    assert _runs(pk, acme.id) == []
    with pk.db.session(tenant_id=acme.id) as session:
        assert session.get(JobSchedule, schedule_id).next_run_at == _at(
            "2026-06-01T11:00"
        )  # the period passed


def test_a_failing_job_is_recorded_with_a_message_and_its_traceback_only_in_the_log(pk, caplog):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    expect(
        acme.admin.put(
            "/api/v1/marketplace/fixture_ticker/settings",
            json={"values": {"tick_marker": "/nonexistent-dir/marker"}},
        ),
        200,
    )
    schedule_id = _schedule(acme, "0 * * * *", "UTC")
    now = _at("2026-06-01T10:00")
    _due_now(pk, schedule_id, now)
    with caplog.at_level(logging.ERROR, logger="crm.scheduler"):
        [run] = Worker(pk.runtime).tick(now)
    assert run.status is RunStatus.FAILED
    reference = re.fullmatch(
        r"internal error \(reference ([0-9a-f]{12})\): the details are in the server log", run.error
    )
    assert reference is not None, run.error
    [shown] = expect(acme.admin.get("/api/v1/jobs/runs", params={"status": "failed"}), 200)["items"]
    assert shown["error"] == run.error  # no traceback, no file path for the tenant's staff
    [logged] = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert logged.exc_info is not None and logged.exc_info[0] is FileNotFoundError


def _handle(pk, monkeypatch, handler) -> None:
    """Run ``handler`` as the ticker's job (what a module's long job would do)."""
    monkeypatch.setitem(
        pk.runtime.plugins.plugins["fixture_ticker"].job_handlers, "fixture_ticker.tick", handler
    )


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (NotFound("no such ledger 12"), "no such ledger 12"),
        (InvalidInput("at", "is in the future"), "at: is in the future"),
        (ValueError("name the ledger: --key LEDGER"), "name the ledger: --key LEDGER"),
    ],
)
def test_a_job_refusing_its_work_fails_with_its_message(pk, monkeypatch, error, shown):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")

    def refuse(job: JobContext) -> None:
        raise error

    _handle(pk, monkeypatch, refuse)
    run = Worker(pk.runtime).run_now("acme", "fixture_ticker.tick")
    assert (run.status, run.error) == (RunStatus.FAILED, shown)


def test_a_long_job_reads_a_snapshot_without_blocking_writers_and_cannot_write_there(pk, monkeypatch):
    from fixture_ticker.models import TickerNote
    from fixture_ticker.service import add_note

    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    seen: dict[str, object] = {}

    def count(ctx) -> int:
        return ctx.session.scalar(select(func.count()).select_from(TickerNote))

    def another_writer() -> float:
        """Another connection's write, committed; how long it took."""
        began = time.perf_counter()
        with acme.ctx() as ctx:
            add_note(ctx, "written meanwhile")
        return time.perf_counter() - began

    def long_job(job: JobContext) -> None:
        seen["before reading"] = another_writer()  # the job holds no transaction yet
        with job.read() as ctx:
            first = count(ctx)
            seen["while reading"] = another_writer()
            seen["same snapshot"] = count(ctx) == first
            try:
                add_note(ctx, "from the snapshot")
            except DBAPIError as refused:
                seen["write refused"] = type(refused.orig).__name__
        with job.batch() as ctx:
            add_note(ctx, "from a batch")

    _handle(pk, monkeypatch, long_job)
    run = Worker(pk.runtime).run_now("acme", "fixture_ticker.tick")
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert seen["before reading"] < 1 and seen["while reading"] < 1  # SQLite's busy timeout is 30 s
    assert seen["same snapshot"] is True and "write refused" in seen
    notes = expect(acme.admin.get("/api/v1/plugins/fixture_ticker/notes"), 200)
    assert notes.count("written meanwhile") == 2 and "from a batch" in notes
    assert "from the snapshot" not in notes


def test_a_batch_never_commits_once_another_worker_has_taken_the_run_over(pk, monkeypatch):
    from fixture_ticker.service import add_note

    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    schedule_id = _schedule(acme, "0 * * * *", "UTC")
    now = _at("2026-06-01T10:00")
    _due_now(pk, schedule_id, now)
    slow = Worker(pk.runtime, name="slow", lease=timedelta(minutes=1))
    rescuer = Worker(pk.runtime, name="rescuer", lease=timedelta(minutes=1))
    taken_over: list[object] = []

    def stalls_between_batches(job: JobContext) -> None:
        with job.batch() as ctx:
            add_note(ctx, f"batch 1 by {job.trigger}")
        if not taken_over:  # the slow worker stalls past its lease; the rescuer takes the run
            with pk.db.transaction(all_tenants=True) as session:
                session.execute(update(JobRun).values(lease_until=now))
            taken_over.extend(rescuer.claim(now + timedelta(minutes=2)))
        with job.batch() as ctx:
            add_note(ctx, f"batch 2 by {job.trigger}")

    _handle(pk, monkeypatch, stalls_between_batches)
    [claim] = slow.claim(now)
    assert slow.execute(claim) is None  # its second batch found the run gone: nothing of it commits
    [rescued] = taken_over
    done = rescuer.execute(rescued)
    assert (done.status, done.worker, done.attempt) == (RunStatus.SUCCEEDED, "rescuer", 2)
    notes = expect(acme.admin.get("/api/v1/plugins/fixture_ticker/notes"), 200)
    assert [n for n in notes if n.startswith("batch")] == [
        "batch 1 by schedule",  # the slow worker's, committed while it held the run
        "batch 1 by schedule",  # the rescuer's (a module keeps its own cursor to skip done work)
        "batch 2 by schedule",
    ]


def test_a_batch_is_timed_from_its_start_to_its_commit_not_from_before_its_turn(pk, monkeypatch):
    """What a long job sizes its next batch by (``job.last_batch_seconds``): the batch's own time.
    On SQLite a batch first lets a writer that waited during the last one have its turn; counted
    as the batch's time, such waits shrank every batch of a settlement to the minimum. A job
    alone goes on at once."""
    from fixture_ticker.service import add_note

    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    timed: list[tuple[float, float]] = []
    writer_done: list[float] = []
    began_second: list[float] = []

    def other_writer() -> None:  # another tenant's write, arriving during the first batch
        with pk.db.transaction(write=True) as session:
            session.execute(text("UPDATE tenants SET name = name WHERE id = -1"))
            time.sleep(0.05)
            writer_done.append(time.monotonic())  # just before its commit

    def batches_with_a_writer_waiting_after_the_first(job: JobContext) -> None:
        assert job.last_batch_seconds == 0
        writer = threading.Thread(target=other_writer)
        for n in (1, 2, 3):
            began = time.monotonic()
            with job.batch() as ctx:
                if n == 2:
                    began_second.append(time.monotonic())
                add_note(ctx, f"batch {n}")
                time.sleep(0.02)  # some writing
                if n == 1 and pk.db.dialect == "sqlite":
                    writer.start()
                    time.sleep(0.05)  # the writer waits for this batch's lock
            timed.append((job.last_batch_seconds, time.monotonic() - began))
        if writer.ident is not None:
            writer.join()

    _handle(pk, monkeypatch, batches_with_a_writer_waiting_after_the_first)
    run = Worker(pk.runtime).run_now("acme", "fixture_ticker.tick")
    assert run.status is RunStatus.SUCCEEDED, run.error
    for own, whole in timed:
        assert 0.02 <= own <= whole
    (_, _), (own, whole), (third_own, third_whole) = timed
    assert third_whole - third_own < 0.04  # nobody waited: the third went on at once
    if pk.db.dialect == "sqlite":  # the second waited for the writer; its own time does not show it
        [done], [second] = writer_done, began_second
        assert done <= second
        assert whole - own >= 0.04


def test_a_manual_run_is_recorded_in_the_history(pk):
    acme = pk.tenant("acme")
    acme.install("fixture_ticker")
    run = Worker(pk.runtime).run_now("acme", "fixture_ticker.tick")
    assert run.status is RunStatus.SUCCEEDED and run.trigger.value == "manual"
    from core.errors import Conflict

    pk.tenant("globex")  # has not installed the module
    with pytest.raises(Conflict, match="not loaded or not enabled"):
        Worker(pk.runtime).run_now("globex", "fixture_ticker.tick")
