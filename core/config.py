"""Settings read from the environment (``CRM_*``), with defaults that run on a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

# crm.db in the current folder: what every process uses when CRM_DATABASE_URL is unset.
DEFAULT_DATABASE_URL = "sqlite:///./crm.db"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """The variable's value among ``choices`` (the first when unset)."""
    raw = (os.environ.get(name) or choices[0]).lower()
    if raw not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


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
class ThrottleSettings:
    """Sign-in throttling (``core.access.throttle``): failures within ``window`` count; reaching a
    limit blocks for ``first_block``, each further block in a row twice as long, up to
    ``max_block``."""

    pair_failures: int = 5  # one e-mail from one address
    address_failures: int = 30  # one address, any e-mail (password spraying)
    account_failures: int = 20  # one e-mail, from addresses that never signed in to it
    emails: int = 3  # registration and reset e-mails to one address
    window: timedelta = timedelta(minutes=15)
    first_block: timedelta = timedelta(minutes=1)
    max_block: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Connections each process keeps, and how many more it may open under a burst. Sized to the
    # threads that use them: uvicorn runs sync routes on 40 worker threads.
    db_pool_size: int = 40
    db_pool_overflow: int = 10
    token_ttl: timedelta = timedelta(hours=12)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    registration_link_ttl: timedelta = timedelta(hours=24)
    password_reset_link_ttl: timedelta = timedelta(minutes=30)
    # Where the links in account e-mails point (the product's public address).
    public_url: str = "http://127.0.0.1:8000"
    email_max_attempts: int = 8
    # Who does deferred work (``core.scheduler.deferred``) when this process runs no worker for
    # it: "inline", the committing thread as its commit returns; "workers", the job workers.
    deferred_work: str = "inline"
    smtp: SmtpSettings = field(
        default_factory=lambda: SmtpSettings(None, 25, None, None, "none", "crm@localhost", 10)
    )

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("CRM_DATABASE_URL") or DEFAULT_DATABASE_URL,
            db_pool_size=_int("CRM_DB_POOL_SIZE", 40),
            db_pool_overflow=_int("CRM_DB_POOL_OVERFLOW", 10),
            token_ttl=timedelta(minutes=_int("CRM_TOKEN_TTL_MINUTES", 12 * 60)),
            throttle=ThrottleSettings(
                pair_failures=_int("CRM_SIGN_IN_MAX_FAILURES", 5),
                address_failures=_int("CRM_SIGN_IN_ADDRESS_MAX_FAILURES", 30),
                account_failures=_int("CRM_SIGN_IN_ACCOUNT_MAX_FAILURES", 20),
                emails=_int("CRM_ACCOUNT_EMAILS_PER_WINDOW", 3),
                window=timedelta(minutes=_int("CRM_SIGN_IN_WINDOW_MINUTES", 15)),
                first_block=timedelta(seconds=_int("CRM_SIGN_IN_BLOCK_SECONDS", 60)),
                max_block=timedelta(minutes=_int("CRM_SIGN_IN_MAX_BLOCK_MINUTES", 15)),
            ),
            registration_link_ttl=timedelta(hours=_int("CRM_REGISTRATION_LINK_HOURS", 24)),
            password_reset_link_ttl=timedelta(minutes=_int("CRM_PASSWORD_RESET_LINK_MINUTES", 30)),
            public_url=(os.environ.get("CRM_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            email_max_attempts=_int("CRM_EMAIL_MAX_ATTEMPTS", 8),
            deferred_work=_choice("CRM_DEFERRED_WORK", ("inline", "workers")),
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
