"""Phone numbers as one canonical text (E.164, ``+447911123456``), so that two ways of writing
the same number compare equal: duplicate checks match on it, never on names."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

import phonenumbers


def normalize_phone(raw: str | None, country: str | None = None) -> str | None:
    """``raw`` in E.164, read as a number of ``country`` (ISO 3166 alpha-2) when it has no
    international prefix; None when it is empty or not a possible phone number."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Numbers = Sequence[tuple[str | None, str | None]]  # (raw, country) pairs
PARALLEL_FROM = 20_000  # numbers in a file before a pool of processes is worth its start (~0.3 s)
log = logging.getLogger("crm.phones")


def normalize_phones(numbers: Numbers) -> list[str | None]:
    """``normalize_phone`` over many (raw, country) pairs."""
    return [normalize_phone(raw, country) for raw, country in numbers]


class Normalized:
    """A batch of numbers being normalized: ``result()`` gives their E.164 forms, from the pool of
    processes, or read here when there is none or it broke (a process killed, a host that cannot
    start one): a pool only ever makes it faster."""

    def __init__(self, numbers: Numbers, future: Future[list[str | None]] | None = None) -> None:
        self.numbers, self.future = numbers, future

    def result(self) -> list[str | None]:
        if self.future is not None:
            try:
                return self.future.result()
            except (BrokenProcessPool, OSError) as error:
                log.warning("reading phone numbers in this process: the pool failed (%r)", error)
        return normalize_phones(self.numbers)


@contextmanager
def phone_normalizer(expected: int) -> Iterator[Callable[[Numbers], Normalized]]:
    """``submit(numbers)`` starts normalizing a batch. Reading a number is pure Python (~30 µs):
    for a file of ``expected`` numbers worth it, the batches go to a pool of processes, one per
    core, started here and stopped on leaving; otherwise they are read when asked for."""
    workers = min(os.cpu_count() or 1, 4)
    if expected < PARALLEL_FROM or workers < 2:
        yield Normalized
        return
    # "spawn": a fresh interpreter imports only this module, whatever threads the caller runs.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:

        def submit(numbers: Numbers) -> Normalized:
            try:
                return Normalized(numbers, pool.submit(normalize_phones, numbers))
            except (BrokenProcessPool, OSError, RuntimeError):
                return Normalized(numbers)

        yield submit
