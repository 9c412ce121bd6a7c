"""Platform mail: outbox messages to platform operators, which belong to no tenant."""

from __future__ import annotations

import pytest
import sqlalchemy
from alembic import command
from sqlalchemy import text

from core.db import migrate
from core.testing import expect

PLATFORM_RESET = "/api/v1/platform/auth/password-reset"


def _request_operator_reset(crm, email: str = "op@platform.example.com") -> int:
    """An operator asks for a reset e-mail; returns the id of the platform message queued."""
    crm.operator(email)
    expect(crm.anonymous.post(PLATFORM_RESET, json={"email": email}), 202)
    with crm.db.engine.connect() as connection:
        return connection.execute(
            text("SELECT id FROM email_messages WHERE tenant_id IS NULL AND to_address = :a"), {"a": email}
        ).scalar_one()


def test_no_tenant_ever_sees_platform_mail(crm):
    acme = crm.tenant("acme")
    client = acme.client(email="trader@example.com")
    expect(
        acme.admin.post(
            "/api/v1/emails",
            json={"recipients": {"client_ids": [client["id"]]}, "subject": "Statement", "body_text": "Hi"},
        ),
        201,
    )
    platform_id = _request_operator_reset(crm)
    for params in ({"per_page": 100}, {"status": "queued"}):
        listed = expect(acme.admin.get("/api/v1/emails", params=params), 200)["items"]
        assert [m["to_address"] for m in listed] == ["trader@example.com"]
    assert acme.admin.get(f"/api/v1/emails/{platform_id}").status_code == 404
    assert acme.admin.post(f"/api/v1/emails/{platform_id}/retry").status_code == 404


def test_the_platform_mail_migration_goes_down_and_up_again(crm, crm_runtime):
    """Down, platform mail goes (the older schema has no place for it) and every message needs a
    tenant again; up again, the outbox takes platform mail."""
    acme = crm.tenant("acme")
    expect(
        acme.admin.post(
            "/api/v1/emails",
            json={
                "recipients": {"client_ids": [acme.client()["id"]]},
                "subject": "Statement",
                "body_text": "Hi",
            },
        ),
        201,
    )
    _request_operator_reset(crm)
    url = crm_runtime.settings.database_url
    locations = crm_runtime.plugins.migration_locations()
    command.downgrade(migrate.alembic_config(url, locations), "core_0004")
    try:
        assert "core_0004" in migrate.current_heads(crm_runtime.db.engine)
        with crm_runtime.db.engine.connect() as connection:
            assert connection.execute(text("SELECT tenant_id FROM email_messages")).scalars().all() == [
                acme.id
            ]
        with pytest.raises(sqlalchemy.exc.IntegrityError), crm_runtime.db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO email_messages (to_address, subject, body_text, message_id, status, "
                    "attempts, next_attempt_at, last_error, created_at) VALUES ('a@example.com', 's', "
                    "'b', '<m@x>', 'queued', 0, '2026-01-01 00:00:00', '', '2026-01-01 00:00:00')"
                )
            )
    finally:
        migrate.upgrade(url, locations)
    assert migrate.pending(url, locations) == []
    _request_operator_reset(crm, "other-op@platform.example.com")
