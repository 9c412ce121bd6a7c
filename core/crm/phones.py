"""Phone numbers as one canonical text (E.164, ``+447911123456``), so that two ways of writing
the same number compare equal: duplicate checks match on it, never on names."""

from __future__ import annotations

import phonenumbers


def normalize_phone(raw: str | None, country: str | None = None) -> str | None:
    """``raw`` in E.164, read as a number of ``country`` (ISO 3166 alpha-2) when it has no
    international prefix; None when it is empty or not a possible phone number."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
