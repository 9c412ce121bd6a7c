"""A process serving the API is tuned for its requests' latency while it serves
(core.api.app.tuned_for_requests), and only then: the test suite runs many apps in one process."""

from __future__ import annotations

import gc
import sys

from fastapi.testclient import TestClient

from core.api.app import SWITCH_INTERVAL_S


def test_while_the_app_serves_its_startup_objects_are_out_of_full_collections(crm_app):
    """Some 300,000 objects live as long as the app (modules, models, routes, schemas); a full
    collection that walked them stopped every request of the worker for ~170 ms."""
    switch_interval = sys.getswitchinterval()
    with TestClient(crm_app) as http:
        assert http.get("/api/v1/health").status_code == 200
        assert gc.get_freeze_count() > 100_000
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S
    assert gc.get_freeze_count() == 0
    assert sys.getswitchinterval() == switch_interval
