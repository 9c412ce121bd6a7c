"""Sign-in throttling that stops guessing and spraying but cannot lock a real user out.

Failures are counted under keys built from what the caller typed, whether an account exists or
not (so a key, its counts and the answer say nothing about existence):

* **pair**: (audience, tenant, e-mail, source address). ``pair_failures`` failures within the
  window block that e-mail from that address. A successful sign-in clears it. An attacker
  guessing from their address never blocks the real user at theirs.
* **address**: the source address across e-mails. ``address_failures`` failures block the
  address: one address trying a password on many accounts (spraying).
* **account**: the e-mail across addresses. ``account_failures`` failures block the e-mail, but
  only from addresses that have never signed in to it: a distributed attack slows down, the
  real user keeps signing in from where they did before.

Reaching a limit blocks for ``first_block``; each further block of the same key, in a row,
lasts twice as long, up to ``max_block``. A key forgets its blocks after a day without failures.
A blocked attempt is answered 429 (``TooManyAttempts``, with the seconds to wait) before any
password is looked at.

The same rows count the e-mails that registration and password reset send to one address
(``mail``): past ``emails`` in a window the request is answered as always but sends nothing (the
links sent before still work), so nobody can flood a mailbox through us. Those requests count
against their source address like failed sign-ins.

State lives in the database, so every worker and process shares it. Counting locks the rows
(``FOR UPDATE`` on PostgreSQL, the write transaction on SQLite): two parallel failures count
twice. Callers commit: it is a few rows in the sign-in's own short transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.access.credentials import digest
from core.access.models import SignInThrottle, ThrottleScope
from core.config import ThrottleSettings
from core.db.session import CrmSession
from core.errors import TooManyAttempts

# A key with no failure for this long starts again from a one-minute block.
BLOCKS_FORGOTTEN = timedelta(days=1)
# An address that signed in to an account stays exempt from that account's blocks this long.
KNOWN_ADDRESS_FORGOTTEN = timedelta(days=90)


def _key(*parts: str) -> str:
    return digest("\x1f".join(parts))  # NUL and control characters never reach here (Input)


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt as typed: ``tenant`` is the slug ("" for the platform), ``email``
    normalized, ``address`` the source address ("" when unknown)."""

    audience: str
    tenant: str
    email: str
    address: str

    @property
    def account_key(self) -> str:
        return _key("account", self.audience, self.tenant, self.email)

    @property
    def pair_key(self) -> str:
        return _key("pair", self.audience, self.tenant, self.email, self.address)

    @property
    def address_key(self) -> str:
        return address_key(self.address)


def address_key(address: str) -> str:
    return _key("address", address)


def mail_key(purpose: str, audience: str, tenant: str, email: str) -> str:
    return _key("mail", purpose, audience, tenant, email)


def account_key(audience: str, tenant: str, email: str) -> str:
    return Attempt(audience, tenant, email, "").account_key


# --- reading ------------------------------------------------------------------------------------


def _rows(session: CrmSession, keys: list[str]) -> dict[str, SignInThrottle]:
    found = session.scalars(
        select(SignInThrottle).where(SignInThrottle.key.in_(keys)).execution_options(populate_existing=True)
    )
    return {row.key: row for row in found}


def _wait(row: SignInThrottle | None, now: datetime) -> float:
    if row is None or row.blocked_until is None:
        return 0.0
    return max(0.0, (row.blocked_until - now).total_seconds())


def _refuse_if_waiting(seconds: float) -> None:
    if seconds > 0:
        raise TooManyAttempts(max(1, math.ceil(seconds)))


def check_sign_in(session: CrmSession, attempt: Attempt, now: datetime) -> None:
    """Raise ``TooManyAttempts`` if this attempt is blocked, without looking at any account."""
    rows = _rows(session, [attempt.pair_key, attempt.account_key, attempt.address_key])
    pair = rows.get(attempt.pair_key)
    known_address = pair is not None and pair.signed_in_at is not None
    _refuse_if_waiting(
        max(
            _wait(pair, now),
            _wait(rows.get(attempt.address_key), now),
            0.0 if known_address else _wait(rows.get(attempt.account_key), now),
        )
    )


def check_address(session: CrmSession, address: str, now: datetime) -> None:
    """Raise ``TooManyAttempts`` if this source address is blocked."""
    _refuse_if_waiting(_wait(_rows(session, [address_key(address)]).get(address_key(address)), now))


# --- counting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bucket:
    key: str
    scope: ThrottleScope
    limit: int
    account_key: str | None = None


def _lock(session: CrmSession, buckets: list[_Bucket], now: datetime) -> dict[str, SignInThrottle]:
    """The buckets' rows, created when missing, locked in key order (no deadlocks)."""
    keys = sorted(b.key for b in buckets)
    insert = postgresql.insert if session.dialect_name == "postgresql" else sqlite.insert
    for _ in range(3):  # a stale row another transaction purged between our insert and our lock
        created = session.execute(
            insert(SignInThrottle)
            .values(
                [
                    {"key": b.key, "scope": b.scope, "account_key": b.account_key, "failures": 0, "blocks": 0}
                    for b in buckets
                ]
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .execution_options(preserve_rowcount=True)
        ).rowcount
        if created:
            _forget_stale(session, keys, now)
        rows = {
            row.key: row
            for row in session.scalars(
                select(SignInThrottle)
                .where(SignInThrottle.key.in_(keys))
                .order_by(SignInThrottle.key)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        if len(rows) == len(keys):
            return rows
    raise RuntimeError("sign-in throttle rows vanished three times in a row")


def _forget_stale(session: CrmSession, keep: list[str], now: datetime) -> None:
    """Drop rows nobody has failed on for a day (and, for known addresses, signed in on for
    90 days): attackers' guesses do not pile up for ever. Cheap: new rows are when it runs."""
    session.execute(
        delete(SignInThrottle)
        .where(
            and_(
                or_(
                    SignInThrottle.last_failure_at.is_(None),
                    SignInThrottle.last_failure_at < now - BLOCKS_FORGOTTEN,
                ),
                or_(
                    SignInThrottle.signed_in_at.is_(None),
                    SignInThrottle.signed_in_at < now - KNOWN_ADDRESS_FORGOTTEN,
                ),
                SignInThrottle.key.not_in(keep),
            )
        )
        .execution_options(synchronize_session=False)
    )


def _count(row: SignInThrottle, limit: int, settings: ThrottleSettings, now: datetime) -> None:
    """One more failure (or e-mail) on a row; at the limit, the next block."""
    if row.last_failure_at is not None and now - row.last_failure_at > BLOCKS_FORGOTTEN:
        row.blocks = 0
    if row.window_started_at is None or now - row.window_started_at >= settings.window:
        row.window_started_at = now
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= limit:
        row.blocks += 1
        doubled = settings.first_block * 2 ** min(row.blocks - 1, 30)
        row.blocked_until = now + min(doubled, settings.max_block)
        row.failures = 0
        row.window_started_at = None


def record_failure(session: CrmSession, settings: ThrottleSettings, attempt: Attempt, now: datetime) -> None:
    """A failed sign-in: counts on the pair, the account and the address."""
    buckets = [
        _Bucket(attempt.pair_key, ThrottleScope.PAIR, settings.pair_failures, attempt.account_key),
        _Bucket(attempt.account_key, ThrottleScope.ACCOUNT, settings.account_failures, attempt.account_key),
        _Bucket(attempt.address_key, ThrottleScope.ADDRESS, settings.address_failures),
    ]
    rows = _lock(session, buckets, now)
    for bucket in buckets:
        _count(rows[bucket.key], bucket.limit, settings, now)
    session.flush()


def record_success(session: CrmSession, attempt: Attempt, now: datetime) -> None:
    """A successful sign-in clears the pair and marks the address as known to the account.
    The account's and the address's counts stay: they measure attacks from elsewhere."""
    bucket = _Bucket(attempt.pair_key, ThrottleScope.PAIR, 0, attempt.account_key)
    _lock(session, [bucket], now)
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.key == attempt.pair_key)
        .values(failures=0, window_started_at=None, blocks=0, blocked_until=None, signed_in_at=now)
        .execution_options(synchronize_session=False)
    )


def record_address_attempt(
    session: CrmSession, settings: ThrottleSettings, address: str, now: datetime
) -> None:
    """A request that sends an e-mail or presents a bad token: counts against its address."""
    bucket = _Bucket(address_key(address), ThrottleScope.ADDRESS, settings.address_failures)
    _count(_lock(session, [bucket], now)[bucket.key], bucket.limit, settings, now)
    session.flush()


def may_send_email(session: CrmSession, settings: ThrottleSettings, key: str, now: datetime) -> bool:
    """Whether one more account e-mail may go to the address behind ``key`` (counted if so)."""
    row = _lock(session, [_Bucket(key, ThrottleScope.MAIL, settings.emails)], now)[key]
    if _wait(row, now) > 0:
        return False
    _count(row, settings.emails, settings, now)
    session.flush()
    return True


def clear_account(session: CrmSession, account: str) -> None:
    """Forget every count and block on an account (its owner has just proved who they are by
    e-mail): its pairs from every address, and its account-wide row."""
    session.execute(
        delete(SignInThrottle)
        .where(SignInThrottle.account_key == account, SignInThrottle.signed_in_at.is_(None))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.account_key == account)
        .values(failures=0, window_started_at=None, blocks=0, blocked_until=None)
        .execution_options(synchronize_session=False)
    )
