"""How much a long job writes per batch (``job.batch()``): sized by time, not by count.

A batch is one write transaction. On SQLite every other writer, of every tenant, waits for it, so
a batch should take about a tenth of a second; on PostgreSQL it holds only the rows (and the
advisory locks) it writes, and a longer one costs nobody else, while each batch's fixed cost (a
transaction, a lease check, a few statements) is paid less often. How long a given number of
items takes depends on the machine and its load, so the size is measured batch after batch.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BatchSize"]

SQLITE_SECONDS = 0.1
POSTGRESQL_SECONDS = 0.5


@dataclass
class BatchSize:
    """The number of items for the next batch (``size``): as many as would take about ``seconds``
    judging by the last batch, never more than twice the last, within [``minimum``, ``maximum``].

    >>> sizes = BatchSize.for_engine("sqlite")
    >>> for chunk in ...:  # doctest: +SKIP
    ...     with job.batch() as ctx:
    ...         ...  # write items[:sizes.size]
    ...     sizes.took(job.last_batch_seconds)

    ``job.last_batch_seconds`` is the batch's own time: on SQLite ``job.batch()`` first waits for
    other writers to have had a turn since the last batch (a tenth of a second), and counted as
    the batch's time that wait shrank every batch to the minimum — a million-client settlement
    spent 87 of its 105 seconds waiting between 881 batches of about 27 records.
    """

    size: int = 500
    seconds: float = SQLITE_SECONDS
    minimum: int = 25
    maximum: int = 2_000

    @classmethod
    def for_engine(cls, dialect: str, size: int = 500) -> BatchSize:
        """Sized for the database engine the job writes to (``session.get_bind().dialect.name``)."""
        if dialect == "postgresql":
            return cls(size, POSTGRESQL_SECONDS, maximum=10_000)
        return cls(size)

    def took(self, seconds: float) -> int:
        """The last batch of ``size`` items took ``seconds``: the size of the next one."""
        wanted = self.size * self.seconds / max(seconds, 1e-3)
        self.size = int(min(max(wanted, self.minimum), self.size * 2, self.maximum))
        return self.size
