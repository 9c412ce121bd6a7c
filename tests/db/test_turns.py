"""Turns at SQLite's write lock (``core.db.turns``): a long job between two batches waits only
while another connection writes or waits to write — a job alone pays nothing — and never longer
than it is told. PostgreSQL's writers wait only for the rows they share: there it never waits."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from core.db.engine import writer_turns
from core.testing import CrmKit


def test_a_job_waits_only_for_connections_that_write_or_wait_to(crm: CrmKit, monkeypatch) -> None:
    db = crm.db
    turns = writer_turns(db.engine)
    if db.dialect != "sqlite":
        assert turns is None
        began = time.monotonic()
        db.give_way(until=time.monotonic() + 5)
        assert time.monotonic() - began < 1
        return
    assert turns is not None
    assert not turns.others_writing()  # nobody

    reader = db.session()
    reader.execute(text("SELECT count(*) FROM tenants")).scalar()  # a read transaction, still open
    began = time.monotonic()
    db.give_way(until=time.monotonic() + 5)
    assert time.monotonic() - began < 1  # readers never make it wait
    reader.close()

    holder = db.session(write=True)  # holds the write lock
    assert turns.others_writing()
    waiting, wrote = threading.Event(), []
    registering = turns.writing

    def writing(connection) -> None:  # to know when the writer below is about to wait
        registering(connection)
        waiting.set()

    monkeypatch.setattr(turns, "writing", writing)

    def writer() -> None:  # waits for the lock, then writes a while
        with db.transaction(write=True) as session:
            session.execute(text("UPDATE tenants SET name = name WHERE id = -1"))
            time.sleep(0.05)
            wrote.append(time.monotonic())  # just before its commit

    thread = threading.Thread(target=writer)
    thread.start()
    assert waiting.wait(5)
    time.sleep(0.01)  # into BEGIN, waiting for the lock
    holder.commit()  # the job's batch ends; the writer was waiting for it
    holder.close()
    db.give_way(until=time.monotonic() + 5)
    resumed = time.monotonic()
    thread.join()
    assert wrote and wrote[0] <= resumed  # the writer had its turn first
    assert not turns.others_writing()

    stuck = db.session(write=True)  # a writer that does not finish: the wait has its limit
    try:
        began = time.monotonic()
        db.give_way(until=began + 0.2)
        assert 0.2 <= time.monotonic() - began < 2
    finally:
        stuck.close()  # a rollback: its turn ends too
    assert not turns.others_writing()
