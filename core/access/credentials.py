"""Password hashing (argon2id), the password rule, and opaque tokens stored only as digests."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import InvalidInput

T = TypeVar("T")

# argon2 is slow and memory-hard on purpose (64 MiB and ~0.2 s of CPU over 4 threads per hash with
# the production parameters). A burst of sign-ins (a market open, the whole client base coming
# back after maintenance, a credential-stuffing attack) must neither take every CPU from the
# pages of people already signed in nor allocate 64 MiB per waiting request: hashes run on a few
# threads of their own, one after another beyond that, at a lower CPU priority (Linux: a nice
# value is per thread, and argon2's lane threads inherit it). Sign-ins queue; pages do not.
HASHING_THREADS = 2
HASHING_NICENESS = 10


def _lower_priority() -> None:
    # Not Linux, or not permitted: the same threads, at the usual priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


def _hashing_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(HASHING_THREADS, "password-hashing", initializer=_lower_priority)


def _after_fork() -> None:
    # A forked child has none of its parent's threads, but the pool would think it has them.
    global _hashing
    _hashing = _hashing_threads()


_hashing = _hashing_threads()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _on_hashing_threads(work: Callable[[], T]) -> T:
    return _hashing.submit(work).result()


_hasher = PasswordHasher()
# Verified against when the account does not exist, so a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash new passwords with other argon2 parameters from now on; returns the hasher in use
    before. Stored hashes carry their own parameters, so they keep verifying. The test kit uses
    the cheapest parameters (thousands of sign-ins per run); production keeps argon2-cffi's
    defaults (RFC 9106's low-memory profile)."""
    global _hasher, _DUMMY_HASH
    previous, _hasher = _hasher, hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password-0")
    return previous


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128


def hash_password(password: str) -> str:
    hasher = _hasher
    return _on_hashing_threads(lambda: hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher, stored = _hasher, password_hash or _DUMMY_HASH

    def verify() -> bool:
        try:
            return hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    return _on_hashing_threads(verify) and password_hash is not None


def check_password_strength(password: str, *, email: str = "", field: str = "password") -> None:
    """At least 10 characters with a lower-case letter, an upper-case letter and a digit, and not
    built from the account's e-mail name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(field, f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(field, f"must be at most {MAX_PASSWORD_LENGTH} characters")
    if not (
        any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
    ):
        raise InvalidInput(field, "must mix lower-case and upper-case letters and digits")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        raise InvalidInput(field, "must not contain the e-mail name")


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy token: enough for random secrets (no KDF needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A bearer token and the digest to store."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


API_KEY_PREFIX = "crm"


def new_api_key() -> tuple[str, str, str]:
    """An Open API key ``crm.<prefix>.<secret>``, its public prefix, and the digest to store.

    Bearer tokens are URL-safe base64, which has no ".", so the two can never be confused."""
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}.{prefix}.{secrets.token_urlsafe(32)}"
    return key, prefix, digest(key)


def looks_like_api_key(token: str) -> bool:
    return token.startswith(f"{API_KEY_PREFIX}.")
