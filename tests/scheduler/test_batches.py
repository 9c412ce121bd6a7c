"""A long job's batches are sized by the time they take, so each holds the write lock briefly."""

from core.scheduler.batches import POSTGRESQL_SECONDS, SQLITE_SECONDS, BatchSize


def test_batches_grow_when_quick_and_shrink_when_slow_so_each_holds_the_lock_briefly():
    assert BatchSize(500).took(0.05) == 1000  # quick: twice as many, no more
    assert BatchSize(500).took(0.4) == 125  # slow (another worker on the machine): a quarter
    assert BatchSize(100).took(30.0) == BatchSize.minimum
    assert BatchSize(1500).took(0.001) == BatchSize.maximum
    sizes = BatchSize(100)
    assert [sizes.took(0.025) for _ in range(3)] == [200, 400, 800]  # it keeps measuring


def test_postgresql_batches_may_take_longer_than_sqlites_which_every_other_writer_waits_for():
    sqlite, postgresql = BatchSize.for_engine("sqlite"), BatchSize.for_engine("postgresql")
    assert sqlite.seconds == SQLITE_SECONDS < POSTGRESQL_SECONDS == postgresql.seconds
    assert sqlite.took(0.1) == 500 and postgresql.took(0.1) == 1000
    assert postgresql.maximum > sqlite.maximum
