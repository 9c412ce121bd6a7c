"""The email outbox over a real SMTP server: retries, never twice, failures kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from core.config import Settings, SmtpSettings
from core.context import bind
from core.db.base import utcnow
from core.notify import delivery
from core.notify.service import queue_platform_email
from core.runtime import Runtime
from core.testing import expect
from core.testing.processes import processes
from core.testing.smtp import Inbox, free_port, mailing, start_inbox

PLATFORM_RESET = "/api/v1/platform/auth/password-reset"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailer(crm, smtp_port) -> Runtime:
    return mailing(crm.runtime, smtp_port, email_max_attempts=3)


def _start(port: int) -> tuple[Controller, Inbox]:
    return start_inbox(port)


def _email(acme, client_ids, subject="Statement"):
    return expect(
        acme.admin.post(
            "/api/v1/emails",
            json={"recipients": {"client_ids": client_ids}, "subject": subject, "body_text": "Hello"},
        ),
        201,
    )


def test_an_email_queued_while_smtp_is_down_goes_out_exactly_once_when_it_is_back(crm, mailer, smtp_port):
    acme = crm.tenant("acme")
    client = acme.client(email="trader@example.com")
    _email(acme, [client["id"]])
    first = delivery.deliver_due(mailer)
    assert (first.sent, first.retried) == (0, 1)
    queued = expect(acme.admin.get("/api/v1/emails"), 200)["items"][0]
    assert (queued["status"], queued["attempts"]) == ("queued", 1)
    assert "cannot reach the SMTP server" in queued["last_error"]
    assert delivery.deliver_due(mailer).sent == 0  # not due yet: backing off
    controller, inbox = _start(smtp_port)
    try:
        later = utcnow() + timedelta(seconds=31)
        assert delivery.deliver_due(mailer, now=later).sent == 1
        for _ in range(3):
            assert delivery.deliver_due(mailer, now=later + timedelta(hours=1)).sent == 0
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    sent = expect(acme.admin.get("/api/v1/emails"), 200)["items"][0]
    assert sent["status"] == "sent" and sent["sent_at"] is not None
    assert inbox.message_ids() == [sent["message_id"]]


def _platform_row(crm, address: str) -> tuple[int | None, str, int]:
    with crm.db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT tenant_id, status, attempts FROM email_messages WHERE to_address = :a"),
            {"a": address},
        ).one()
    return row.tenant_id, row.status, row.attempts


def test_platform_mail_goes_out_through_the_same_worker_exactly_once(crm, mailer, smtp_port):
    crm.operator("op@platform.example.com")
    expect(crm.anonymous.post(PLATFORM_RESET, json={"email": "op@platform.example.com"}), 202)
    first = delivery.deliver_due(mailer)  # SMTP is down: retried later, as a tenant's message is
    assert (first.sent, first.retried) == (0, 1)
    assert _platform_row(crm, "op@platform.example.com") == (None, "queued", 1)
    controller, inbox = _start(smtp_port)
    try:
        later = utcnow() + timedelta(seconds=31)
        assert delivery.deliver_due(mailer, now=later).sent == 1
        for _ in range(3):
            assert delivery.deliver_due(mailer, now=later + timedelta(hours=1)).sent == 0
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    received = message_from_bytes(inbox.messages[0], policy=policy.default)
    assert received["To"] == "op@platform.example.com"
    assert received["Subject"] == "Choose a new password"
    assert crm.email_token("op@platform.example.com") in received.get_content()
    assert _platform_row(crm, "op@platform.example.com") == (None, "sent", 2)


def test_a_permanent_refusal_fails_the_message(crm, mailer, smtp_port):
    acme = crm.tenant("acme")
    client = acme.client(email="bounce@example.com")
    _email(acme, [client["id"]])
    controller, inbox = _start(smtp_port)
    try:
        report = delivery.deliver_due(mailer)
    finally:
        controller.stop()
    assert report.failed == 1 and inbox.messages == []
    message = expect(acme.admin.get("/api/v1/emails"), 200)["items"][0]
    assert message["status"] == "failed" and "550" in message["last_error"]


def test_a_message_fails_after_its_last_attempt(crm, mailer):
    acme = crm.tenant("acme")
    _email(acme, [acme.client()["id"]])
    moment = utcnow()
    for _ in range(3):
        moment += timedelta(hours=2)
        delivery.deliver_due(mailer, now=moment)
    message = expect(acme.admin.get("/api/v1/emails"), 200)["items"][0]
    assert (message["status"], message["attempts"]) == ("failed", 3)


def test_a_sender_that_died_mid_send_leaves_the_message_uncertain_until_retried(crm, mailer, smtp_port):
    acme = crm.tenant("acme")
    _email(acme, [acme.client()["id"]])
    delivery._claim(mailer, utcnow(), limit=10)  # a sender claims it, then dies before recording anything
    controller, inbox = _start(smtp_port)
    try:
        report = delivery.deliver_due(mailer, now=utcnow() + delivery.LEASE + timedelta(seconds=1))
        assert (report.uncertain, report.sent) == (1, 0)
        message = expect(acme.admin.get("/api/v1/emails"), 200)["items"][0]
        assert message["status"] == "uncertain"
        assert acme.admin.post(f"/api/v1/emails/{message['id']}/retry").status_code == 200
        assert acme.admin.post(f"/api/v1/emails/{message['id']}/retry").status_code == 409
        assert delivery.deliver_due(mailer).sent == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_without_smtp_settings_messages_wait(crm):
    acme = crm.tenant("acme")
    _email(acme, [acme.client()["id"]])
    assert crm.runtime.settings.smtp.enabled is False
    assert delivery.deliver_due(crm.runtime).sent == 0
    assert expect(acme.admin.get("/api/v1/emails"), 200)["items"][0]["status"] == "queued"


def test_the_outbox_follows_data_permissions(crm):
    acme = crm.tenant("acme")
    reader = acme.user(["notifications.read"], scope="own")
    mine, other = acme.client(assigned_user_id=reader.user_id), acme.client()
    _email(acme, [mine["id"], other["id"]])
    visible = expect(reader.get("/api/v1/emails"), 200)["items"]
    assert [m["client_id"] for m in visible] == [mine["id"]]
    hidden = next(
        m for m in expect(acme.admin.get("/api/v1/emails"), 200)["items"] if m["client_id"] == other["id"]
    )
    assert reader.get(f"/api/v1/emails/{hidden['id']}").status_code == 404


def _drain(url: str, port: int, barrier) -> int:
    runtime = Runtime.from_settings(
        replace(
            Settings.from_env(),
            database_url=url,
            smtp=SmtpSettings("127.0.0.1", port, None, None, "none", "crm@example.com", 10),
        )
    )
    barrier.wait()
    sent = 0
    try:
        while True:
            report = delivery.deliver_due(runtime, limit=5)
            sent += report.sent
            if report.sent == 0 and report.retried == 0:
                return sent
    finally:
        runtime.db.dispose()


def test_several_senders_at_once_deliver_each_message_once(crm, crm_database_url, smtp_port):
    acme = crm.tenant("acme")
    client_ids = [acme.client()["id"] for _ in range(40)]
    _email(acme, client_ids)
    with crm.db.transaction(write=True) as session:  # and platform mail among it
        ctx = bind(session, None, crm.runtime, "test")
        for n in range(10):
            queue_platform_email(ctx, f"operator{n}@platform.example.com", "Hi", "Hello")
    controller, inbox = _start(smtp_port)
    try:
        context = processes()
        barrier = context.Manager().Barrier(4)
        with context.Pool(4) as pool:
            counts = pool.starmap(_drain, [(crm_database_url, smtp_port, barrier)] * 4)
    finally:
        controller.stop()
    ids = inbox.message_ids()
    assert sum(counts) == len(ids) == len(set(ids)) == 50
    with crm.db.engine.connect() as connection:
        statuses = connection.execute(text("SELECT DISTINCT status FROM email_messages")).scalars().all()
    assert statuses == ["sent"]
