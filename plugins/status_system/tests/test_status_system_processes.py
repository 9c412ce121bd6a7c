"""Recomputation across processes: deposits of one client approved at once in several processes,
the event handler and ``standing.recompute`` called for that client meanwhile, and the nightly
batch run by two workers at the same time, write exactly one history row and one pop-up per real
change, and lose none."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.sdk import Deposit, DepositKind, DepositStatus, tenant_sql, utcnow
from core.sdk.testing import Runtime, Settings, Worker, bind, processes
from plugins.status_system.models import HistoryEntry
from plugins.status_system.tests.support import Broker

JOB = "status_system.evaluation"
TIMEOUT = 300  # seconds for every process to finish on a busy machine


def _runtime(url: str) -> Runtime:
    return Runtime.from_settings(replace(Settings.from_env(), database_url=url))


def _approve(url: str, tenant_id: int, deposit_id: int, barrier: Any) -> str:
    """Approve one deposit as core's service does: the deposit decided, then the event delivered to
    the module in the same unit of work."""
    from plugins.status_system import hooks

    runtime = _runtime(url)
    barrier.wait()
    try:
        with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
            ctx = bind(session, None, runtime, "test")
            deposit = session.get(Deposit, deposit_id, with_for_update=True)
            assert deposit is not None and deposit.status is DepositStatus.PENDING
            deposit.status, deposit.decided_at = DepositStatus.APPROVED, utcnow()
            session.flush()
            hooks.crm_deposit_approved(ctx, deposit)
        return "approved"
    finally:
        runtime.db.dispose()


def _recompute(url: str, tenant_id: int, client_id: int, barrier: Any) -> str:
    """Re-decide the client again and again while the others work."""
    from plugins.status_system.standing import recompute

    runtime = _runtime(url)
    barrier.wait()
    try:
        for _ in range(5):
            with runtime.db.transaction(tenant_id=tenant_id, write=True) as session:
                recompute(bind(session, None, runtime, "test"), [client_id])
        return "recomputed"
    finally:
        runtime.db.dispose()


def _batch(url: str, slug: str, barrier: Any) -> str:
    """The nightly batch, by hand, in a worker of its own."""
    runtime = _runtime(url)
    barrier.wait()
    try:
        run = Worker(runtime).run_now(slug, JOB)
        return f"{run.status.value} {run.error}".strip()
    finally:
        runtime.db.dispose()


def _quiet_deposits(broker: Broker, clients: list[dict[str, Any]], amount: str) -> None:
    """Approved deposits written without an event (an import): only the batch can notice them."""
    decided = datetime.now(UTC) - timedelta(hours=1)
    with broker.tenant.ctx() as ctx:
        ctx.session.add_all(
            Deposit(
                client_id=client["id"],
                amount=Decimal(amount),
                currency="USD",
                kind=DepositKind.MANUAL,
                status=DepositStatus.APPROVED,
                decided_at=decided,
                tenant_id=broker.tenant.id,
            )
            for client in clients
        )


def _changes(broker: Broker) -> dict[int, list[tuple[str | None, str, str]]]:
    with broker.tenant.ctx() as ctx:
        rows = ctx.session.execute(
            select(HistoryEntry.client_id, HistoryEntry.previous_name, HistoryEntry.name, HistoryEntry.cause)
            .order_by(HistoryEntry.id)
        ).all()  # fmt: skip
    found: dict[int, list[tuple[str | None, str, str]]] = {}
    for client_id, previous, name, cause in rows:
        found.setdefault(client_id, []).append((previous, name, str(cause)))
    return found


def _popups(broker: Broker) -> dict[int, int]:
    """The module's pop-ups per client."""
    with broker.tenant.ctx() as ctx:
        counted = tenant_sql(
            ctx.session,
            "SELECT client_id, count(*) FROM popups WHERE tenant_id = :tenant_id AND source = :source "
            "GROUP BY client_id",
            {"source": "status_system"},
        ).all()
    return {client_id: count for client_id, count in counted}


def test_concurrent_events_for_one_client_and_two_batches_write_each_change_once(broker, crm_database_url):
    client = broker.client()
    # Four deposits of the client waiting for approval: whatever order they are approved in, the
    # first committed one reaches at most USD 5,000 (Silver at most) and all four USD 11,200 (Gold).
    pending = []
    for amount in ("600", "600", "5000", "5000"):
        body = {"client_id": client["id"], "amount": amount, "currency": "USD"}
        deposit = broker.admin.post("/api/v1/deposits", json=body).json()
        assert deposit["status"] == "pending"
        pending.append(deposit["id"])
    # Clients whose deposits arrive without an event: each batch worker wants to promote them.
    quiet = [broker.client() for _ in range(30)]
    _quiet_deposits(broker, quiet, "1500")

    url, tenant_id = crm_database_url, broker.tenant.id
    context = processes()
    tasks: list[tuple[Any, tuple[Any, ...]]] = [(_approve, (url, tenant_id, d)) for d in pending]
    tasks += [(_recompute, (url, tenant_id, client["id"]))] * 2
    tasks += [(_batch, (url, broker.tenant.slug))] * 2
    with context.Manager() as manager, context.Pool(len(tasks)) as pool:
        barrier = manager.Barrier(len(tasks))
        running = [pool.apply_async(task, (*args, barrier)) for task, args in tasks]
        outcomes = [r.get(timeout=TIMEOUT) for r in running]
    assert outcomes == ["approved"] * 4 + ["recomputed"] * 2 + ["succeeded"] * 2

    changes = _changes(broker)
    # Each approval defers the client's re-evaluation to after its commit, so one re-evaluation may
    # see one approval or several: the client climbs through Silver or straight to Gold, and each
    # real change is written once.
    assert changes[client["id"]] in (
        [("Base", "Silver", "rule"), ("Silver", "Gold", "rule")],
        [("Base", "Gold", "rule")],
    )
    assert {c["id"]: changes.get(c["id"]) for c in quiet} == {
        c["id"]: [("Base", "Silver", "rule")] for c in quiet
    }
    assert len(changes) == 1 + len(quiet)  # nobody else moved
    popups = _popups(broker)
    assert popups == {client_id: len(rows) for client_id, rows in changes.items()}  # one per change
    assert broker.status_of(client) == "Gold"
    # Nothing is left to do: one more batch and one more event change nothing.
    broker.batch()
    assert broker.recompute(client) == 0
    assert _changes(broker) == changes
