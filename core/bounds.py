"""The limits every value accepted by the CRM stays within, in one place.

Request schemas (``core.schemas``) turn these into bounds that clients see in the OpenAPI schema
(``maximum``, ``maxLength``, ``pattern``…); storage (``core.db.types``) and lookups
(``core.db.lookup``) check the same numbers, so a value that passed validation always fits where it
goes, and so does any sum of such values.

Money
    One amount is at most ``MAX_AMOUNT`` (10^12 of a currency, with up to 4 decimal places: ISO 4217's
    largest minor unit), an exact number in JSON Schema too. Stored as NUMERIC(24, 4) on PostgreSQL and
    as an integer count of 10^-4 units on SQLite (at most 10^16 < 2^63). Sums are exact on both engines
    up to ``MAX_SUM`` (10^9 amounts of the maximum): PostgreSQL's SUM over NUMERIC is unbounded, and on
    SQLite ``core.db.types.money_sum`` adds the amounts in two 64-bit halves that cannot overflow
    before 10^9 rows. Python adds units as ``int`` (unbounded) or ``Decimal`` in ``MONEY_CONTEXT``,
    wide enough for ``MAX_SUM``.
Ids
    Positive 64-bit integers (``MAX_ID``), the storage of every primary key on both engines.
Text
    No NUL or other control characters (tabs and line breaks only in multi-line text), no lone
    surrogates; names hold at least one visible character; every string has a maximum length.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Context, Decimal

MONEY_PLACES = 4
MAX_AMOUNT = Decimal(10**12)
MAX_AMOUNT_DIGITS = 13 + MONEY_PLACES
MAX_SUM_TERMS = 10**9
MAX_SUM = MAX_AMOUNT * MAX_SUM_TERMS  # 10^21
# Wide enough for any sum of accepted amounts, scaled to units, with digits to spare.
MONEY_CONTEXT = Context(prec=40)

MAX_ID = 2**63 - 1

# Page numbers and sizes of every list.
MAX_PAGE = 1_000_000
MAX_PER_PAGE = 500

# Controls other than tab, line feed and carriage return; DEL and the C1 controls; lone surrogates
# (they cannot be encoded as UTF-8, so no database could store them).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What a single line may not contain besides those: line breaks, tabs, Unicode line separators.
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029\x85]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    bad = _FORBIDDEN.search(value)
    if bad is None:
        return None
    char = bad.group()
    if char == "\x00":
        return "must not contain NUL characters"
    if "\ud800" <= char <= "\udfff":
        return "must not contain unpaired surrogates"
    return f"must not contain control characters (U+{ord(char):04X})"


def line_problem(value: str) -> str | None:
    """Why ``value`` is not one line of text, or None."""
    problem = text_problem(value)
    if problem is None and _LINE_BREAKS.search(value):
        problem = "must be a single line (no tabs or line breaks)"
    return problem


def has_visible_character(value: str) -> bool:
    """A letter, digit, punctuation mark or symbol: a name of spaces, zero-width or other invisible
    characters names nothing."""
    return any(unicodedata.category(char)[0] in "LNPS" for char in value)


def id_in_range(value: int) -> bool:
    return 1 <= value <= MAX_ID


def amount_in_range(value: Decimal) -> bool:
    return value.is_finite() and -MAX_AMOUNT <= value <= MAX_AMOUNT
