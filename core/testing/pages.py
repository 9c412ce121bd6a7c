"""Signed-in page sessions for HTTP tests of pages: a client with its own cookie jar that signs in
through the sign-in form, as a browser does, and sends the CSRF token with every form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from core.access.auth import Audience
from core.web.sessions import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, PAGE_ROOTS

if TYPE_CHECKING:
    from httpx2 import Response


class PageSession:
    """A browser-like HTTP client for pages (cookies kept, redirects not followed)."""

    def __init__(self, app: FastAPI, label: str = "visitor") -> None:
        from fastapi.testclient import TestClient

        self.http = TestClient(app, follow_redirects=False)
        self.label = label

    @property
    def csrf(self) -> str:
        token = self.http.cookies.get(CSRF_COOKIE)
        if token is None:
            self.http.get("/")  # any page sets it
            token = self.http.cookies.get(CSRF_COOKIE)
        assert token is not None, "no CSRF cookie after loading a page"
        return str(token)

    def get(self, path: str, *, htmx: bool = False, **kwargs: Any) -> Response:
        headers = {**({"HX-Request": "true"} if htmx else {}), **kwargs.pop("headers", {})}
        return self.http.get(path, headers=headers, **kwargs)

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        htmx: bool = False,
        csrf: bool = True,
        **kwargs: Any,
    ) -> Response:
        """Post a form, with the CSRF token unless ``csrf`` is False; ``htmx`` sends it as htmx
        does (the token in its header)."""
        headers = dict(kwargs.pop("headers", {}))
        form = dict(data or {})
        if htmx:
            headers["HX-Request"] = "true"
            if csrf:
                headers[CSRF_HEADER] = self.csrf
        elif csrf:
            form[CSRF_FIELD] = self.csrf
        return self.http.post(path, data=form, headers=headers, **kwargs)

    def __repr__(self) -> str:
        return f"<pages as {self.label}>"


def sign_in(
    app: FastAPI, audience: Audience, email: str, password: str, company: str | None = None
) -> PageSession:
    """A page session signed in through ``audience``'s sign-in form."""
    session = PageSession(app, email)
    root = PAGE_ROOTS[audience]
    response = session.post(f"{root}/login", {"company": company or "", "email": email, "password": password})
    assert response.status_code == 303, (
        f"sign-in as {email} failed: {response.status_code} {response.text[:300]}"
    )
    return session
