"""A background loop keeps going after a failing pass, and ends when stopped."""

from __future__ import annotations

import logging
import threading

from core.background import BackgroundLoop


def test_a_failing_tick_is_logged_and_the_loop_carries_on_until_stopped(caplog):
    passes: list[int] = []
    third = threading.Event()
    errors: list[str] = []

    def tick() -> None:
        passes.append(1)
        if len(passes) == 1:
            raise RuntimeError("first pass fails")
        if len(passes) == 3:
            third.set()

    loop = BackgroundLoop(
        "test-loop",
        0.01,
        tick,
        failure="test pass failed",
        logger=logging.getLogger("crm.test"),
        on_error=lambda: errors.append("handled"),
    )
    with caplog.at_level(logging.ERROR, logger="crm.test"):
        loop.start()
        assert third.wait(5)
        loop.stop()
    assert loop.stopping
    assert errors == ["handled"]
    assert "test pass failed; will try again" in caplog.text
