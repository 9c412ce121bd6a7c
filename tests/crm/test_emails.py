"""An imported file's e-mail addresses get the API's verdict: ``check_email`` (its fast path checks
each domain once) accepts exactly what the ``Email`` type accepts, in the same normal form, with
the same message when it refuses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from core.crm.emails import check_email
from core.sdk import Email

FULL: TypeAdapter[str] = TypeAdapter(Email)
LOCAL = st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,70}", fullmatch=True)
LABEL = st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True)
DOMAIN = st.one_of(
    st.lists(LABEL, min_size=1, max_size=4).map(".".join),
    st.sampled_from(["example.com", "EXAMPLE.com", "mail.example.co.uk", "x.invalid", "localhost",
                     "xn--bcher-kva.com", "a..b.com", "-a.com", "a-.com", "1.2.3.4", "gmail.com"]),
)  # fmt: skip


def _verdict(check, text: str) -> tuple[bool, str]:
    try:
        return True, str(check(text))
    except ValueError as error:  # pydantic's ValidationError is a ValueError too
        if isinstance(error, ValidationError):
            return False, error.errors()[0]["msg"]
        return False, str(error)


@settings(max_examples=400, deadline=None)
@given(local=LOCAL, domain=DOMAIN)
def test_a_plain_address_gets_the_api_types_verdict(local, domain):
    text = f"{local}@{domain}"
    assert _verdict(check_email, text) == _verdict(FULL.validate_python, text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_gets_the_api_types_verdict(text):
    assert _verdict(check_email, text) == _verdict(FULL.validate_python, text)


def test_examples():
    assert check_email("New.Person@Example.COM") == "New.Person@example.com"
    assert check_email("a@xn--bcher-kva.com") == "a@bücher.com"
    for bad in ("a@b", "a..b@example.com", "a@x.invalid", "", "no-at-sign.example.com"):
        try:
            check_email(bad)
        except ValueError as error:
            assert str(error).startswith("value is not a valid email address")
        else:
            raise AssertionError(f"{bad!r} was accepted")
