"""Sending the email outbox over SMTP.

Each pass: messages whose sender died mid-send become *uncertain*; due messages are claimed
(status sending, a lease, one more attempt) in a committed transaction — with FOR UPDATE SKIP
LOCKED on PostgreSQL, under SQLite's write lock otherwise — so two senders never claim the same
message; then each is sent and its outcome recorded. A message is never sent twice: the only way
back from *sending* is a recorded outcome, and *uncertain* messages wait for a person to retry.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from core.background import BackgroundLoop
from core.config import SmtpSettings
from core.db.base import utcnow
from core.notify.models import EmailMessage, EmailStatus

if TYPE_CHECKING:
    from core.runtime import Runtime  # the composition root, passed in; annotations only

log = logging.getLogger("crm.notify")

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    message_id: str
    attempts: int


class _Permanent(Exception):
    """The server refused the message for good (5xx)."""


_warned_unconfigured = False


def deliver_due(runtime: Runtime, *, now: datetime | None = None, limit: int = 50) -> DeliveryReport:
    """One delivery pass over the whole outbox: every tenant's mail and platform mail alike."""
    global _warned_unconfigured
    report = DeliveryReport()
    smtp = runtime.settings.smtp
    if not smtp.enabled:
        if not _warned_unconfigured:
            log.warning("CRM_SMTP_HOST is not set: emails stay queued until SMTP is configured")
            _warned_unconfigured = True
        return report
    now = now or utcnow()
    report.uncertain = _expire_leases(runtime, now)
    claimed = _claim(runtime, now, limit)
    if claimed:
        _send_all(runtime, smtp, claimed, now, report)
    return report


def _expire_leases(runtime: Runtime, now: datetime) -> int:
    with runtime.db.transaction(all_tenants=True, write=True) as session:
        result = session.execute(
            update(EmailMessage)
            .where(EmailMessage.status == EmailStatus.SENDING, EmailMessage.lease_until < now)
            .values(
                status=EmailStatus.UNCERTAIN,
                last_error="the sender stopped while sending; it may have gone out, so it is not re-sent "
                "automatically",
            )
        )
        return result.rowcount or 0


def _claim(runtime: Runtime, now: datetime, limit: int) -> list[_Claimed]:
    with runtime.db.transaction(all_tenants=True, write=True) as session:
        due = session.scalars(
            select(EmailMessage)
            .where(EmailMessage.status == EmailStatus.QUEUED, EmailMessage.next_attempt_at <= now)
            .order_by(EmailMessage.next_attempt_at, EmailMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for message in due:
            message.status = EmailStatus.SENDING
            message.lease_until = now + LEASE
            message.attempts += 1
        return [
            _Claimed(m.id, m.to_address, m.subject, m.body_text, m.body_html, m.message_id, m.attempts)
            for m in due
        ]


def _mime(smtp: SmtpSettings, message: _Claimed, now: datetime) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = smtp.sender
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Message-ID"] = message.message_id
    mime["Date"] = format_datetime(now)
    mime.set_content(message.body_text)
    if message.body_html:
        mime.add_alternative(message.body_html, subtype="html")
    return mime


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    assert smtp.host is not None
    if smtp.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout_s, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if smtp.username:
        client.login(smtp.username, smtp.password or "")
    return client


def _send_all(
    runtime: Runtime, smtp: SmtpSettings, claimed: list[_Claimed], now: datetime, report: DeliveryReport
) -> None:
    try:
        client = _connect(smtp)
    except (OSError, smtplib.SMTPException) as error:
        for message in claimed:
            _record_failure(runtime, message, f"cannot reach the SMTP server: {error}", now, report)
        return
    try:
        for message in claimed:
            try:
                refused = client.send_message(_mime(smtp, message, now))
                if refused:
                    raise _Permanent(f"recipient refused: {refused}")
            except smtplib.SMTPResponseException as error:
                text = f"{error.smtp_code} {error.smtp_error!r}"
                if 500 <= error.smtp_code < 600:
                    _record_failure(runtime, message, text, now, report, permanent=True)
                else:
                    _record_failure(runtime, message, text, now, report)
            except smtplib.SMTPRecipientsRefused as error:
                _record_failure(
                    runtime, message, f"recipient refused: {error.recipients}", now, report, permanent=True
                )
            except _Permanent as error:
                _record_failure(runtime, message, str(error), now, report, permanent=True)
            except (OSError, smtplib.SMTPException) as error:
                _record_failure(runtime, message, f"SMTP error: {error}", now, report)
            else:
                _record(
                    runtime,
                    message.id,
                    status=EmailStatus.SENT,
                    sent_at=utcnow(),
                    lease_until=None,
                    last_error="",
                )
                report.sent += 1
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _record(runtime: Runtime, message_id: int, **values: object) -> None:
    with runtime.db.transaction(all_tenants=True, write=True) as session:
        session.execute(
            update(EmailMessage)
            .where(EmailMessage.id == message_id, EmailMessage.status == EmailStatus.SENDING)
            .values(**values)
        )


def _record_failure(
    runtime: Runtime,
    message: _Claimed,
    error: str,
    now: datetime,
    report: DeliveryReport,
    *,
    permanent: bool = False,
) -> None:
    if permanent or message.attempts >= runtime.settings.email_max_attempts:
        _record(runtime, message.id, status=EmailStatus.FAILED, lease_until=None, last_error=error)
        report.failed += 1
        return
    delay = min(FIRST_RETRY * 2 ** (message.attempts - 1), MAX_RETRY)
    _record(
        runtime,
        message.id,
        status=EmailStatus.QUEUED,
        lease_until=None,
        last_error=error,
        next_attempt_at=now + delay,
    )
    report.retried += 1


class OutboxWorker:
    """A background thread that runs a delivery pass every ``interval_s`` seconds."""

    def __init__(self, runtime: Runtime, interval_s: float = 5.0) -> None:
        self.runtime = runtime
        self._loop = BackgroundLoop(
            "crm-outbox", interval_s, self._deliver, failure="outbox delivery pass failed", logger=log
        )

    def start(self) -> OutboxWorker:
        self._loop.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._loop.stop(timeout)

    def _deliver(self) -> None:
        report = deliver_due(self.runtime)
        if report.sent or report.failed or report.uncertain:
            log.info("outbox: %s", report)
