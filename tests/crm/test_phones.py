"""Phone numbers compared as E.164: one number however it is written, and the same answers from
the pool of processes a large file's numbers are read in as from ``normalize_phone`` itself."""

from __future__ import annotations

import pytest

from core.crm import phones
from core.sdk import normalize_phone

WRITTEN = [
    ("+44 7911 123456", None),
    ("07911 123456", "GB"),
    ("(0)7911-123-456", "gb"),
    ("030 12345678", "DE"),
    ("+1 (212) 555-0100", "US"),
    ("12", "GB"),  # not a possible number
    ("", "GB"),
    (None, None),
]


def test_one_number_however_it_is_written():
    assert {normalize_phone(raw, country) for raw, country in WRITTEN[:3]} == {"+447911123456"}
    assert normalize_phone("030 12345678", "DE") == "+493012345678"
    assert [normalize_phone(raw, country) for raw, country in WRITTEN[5:]] == [None, None, None]


@pytest.mark.parametrize("expected", [10, 1_000_000], ids=["at once", "in a pool of processes"])
def test_batches_give_what_normalize_phone_gives(expected, monkeypatch):
    monkeypatch.setattr(phones, "PARALLEL_FROM", 100)
    monkeypatch.setattr(phones.os, "cpu_count", lambda: 2)  # a pool even on a one-core machine
    with phones.phone_normalizer(expected) as submit:
        futures = [submit(WRITTEN), submit(WRITTEN[::-1])]
        answers = [batch.result() for batch in futures]
    wanted = [normalize_phone(raw, country) for raw, country in WRITTEN]
    assert answers == [wanted, wanted[::-1]]


def test_a_broken_pool_only_makes_it_slower():
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    broken: Future[list[str | None]] = Future()
    broken.set_exception(BrokenProcessPool("a worker was killed"))
    assert phones.Normalized(WRITTEN[:2], broken).result() == ["+447911123456"] * 2
