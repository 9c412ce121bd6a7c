"""Settings read from the environment (``CRM_*``), with defaults that run on a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    username: str | None
    password: str | None
    security: str  # "none" | "starttls" | "ssl"
    sender: str
    timeout_s: int

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./crm.db"
    token_ttl: timedelta = timedelta(hours=12)
    max_failed_logins: int = 5
    lockout: timedelta = timedelta(minutes=15)
    email_max_attempts: int = 8
    smtp: SmtpSettings = field(
        default_factory=lambda: SmtpSettings(None, 25, None, None, "none", "crm@localhost", 10)
    )

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("CRM_DATABASE_URL") or "sqlite:///./crm.db",
            token_ttl=timedelta(minutes=_int("CRM_TOKEN_TTL_MINUTES", 12 * 60)),
            max_failed_logins=_int("CRM_MAX_FAILED_LOGINS", 5),
            lockout=timedelta(minutes=_int("CRM_LOCKOUT_MINUTES", 15)),
            email_max_attempts=_int("CRM_EMAIL_MAX_ATTEMPTS", 8),
            smtp=SmtpSettings(
                host=os.environ.get("CRM_SMTP_HOST") or None,
                port=_int("CRM_SMTP_PORT", 25),
                username=os.environ.get("CRM_SMTP_USERNAME") or None,
                password=os.environ.get("CRM_SMTP_PASSWORD") or None,
                security=(os.environ.get("CRM_SMTP_SECURITY") or "none").lower(),
                sender=os.environ.get("CRM_SMTP_FROM") or "crm@localhost",
                timeout_s=_int("CRM_SMTP_TIMEOUT_SECONDS", 10),
            ),
        )
