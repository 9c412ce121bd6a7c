"""Every error leaves as ``{"error": {"code", "message", "fields": [{"field", "message"}]}}``."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from core.api.deps import refuse_caller
from core.errors import DomainError
from core.web.errors import is_page_request, page_error

log = logging.getLogger("crm.api")

_LOCATIONS = {"body", "query", "path", "header", "cookie"}


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] = []


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_response(
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or []}}
    return JSONResponse(status_code=status, content=body, headers=headers)


def field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic location as the field's name (``criteria.all.0.value``). The tags of a tagged
    union written in brackets (``Tag("[leaf]")``: which member was validated) are not fields and
    are left out."""
    parts = [p for p in loc if not (isinstance(p, str) and p.startswith("[") and p.endswith("]"))]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(
            400,
            "malformed_json",
            "the body is not valid JSON",
            [{"field": "body", "message": "invalid JSON"}],
        )
    try:
        await refuse_caller(request)
    except DomainError as refusal:
        return _domain(request, refusal)
    if any(error.get("loc", ("",))[0] == "path" for error in errors):
        # A URL naming no possible record (an id out of range, a malformed name) names no record.
        return error_response(404, "not_found", "not found")
    fields = []
    for error in errors:
        message = str(error.get("msg", "invalid"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        fields.append({"field": field_name(error.get("loc", ())), "message": message})
    names = ", ".join(sorted({f["field"] for f in fields}))
    return error_response(422, "validation_error", f"invalid input: {names}", fields)


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    fields = [{"field": f.field, "message": f.message} for f in exc.fields]
    return error_response(exc.status, exc.code, exc.message, fields, exc.headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path (Starlette's 405 names only the
    methods of the first route that matched the path)."""
    methods: set[str] = set()
    path = request.url.path
    for context in iter_route_contexts(request.app.routes):
        regex = getattr(context, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(context.methods or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {
        400: "bad_request",
        401: "unauthenticated",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
    }
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(
        exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), headers=headers or None
    )


def _integrity(request: Request, exc: Exception) -> JSONResponse:
    # Services check uniqueness first; this is the race where two requests pass the check at once.
    log.info("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(409, "conflict", "the change conflicts with existing data; retry")


def _busy(request: Request, exc: Exception) -> JSONResponse:
    if "locked" in str(exc).lower():
        return error_response(503, "busy", "the database is busy; retry", headers={"Retry-After": "1"})
    return _unexpected(request, exc)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error")


def _for_pages(handler: Callable[[Request, Exception], Any]) -> Callable[[Request, Exception], Any]:
    """The same decision, answered as a page for a page's request (``core.web.errors``)."""

    async def handle(request: Request, exc: Exception) -> Response:
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        if not is_page_request(request):
            return response
        error = json.loads(bytes(response.body))["error"]
        headers = {k: v for k, v in response.headers.items() if k.lower() in ("retry-after", "allow")}
        return page_error(request, response.status_code, error["message"], error["fields"], headers)

    return handle


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _for_pages(_validation))
    app.add_exception_handler(DomainError, _for_pages(_domain))
    app.add_exception_handler(HTTPException, _for_pages(_http))
    app.add_exception_handler(IntegrityError, _for_pages(_integrity))
    app.add_exception_handler(OperationalError, _for_pages(_busy))
    app.add_exception_handler(Exception, _for_pages(_unexpected))


# Routes that take a body also document 400 (``core.api.guard.declare_router`` adds it).
MALFORMED_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body is not valid JSON (`malformed_json`)"}
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, invalid or expired credentials"},
    403: {"model": ErrorBody, "description": "The caller lacks the required permission"},
    404: {"model": ErrorBody, "description": "No such record for this caller"},
    409: {"model": ErrorBody, "description": "The record's state forbids this action"},
    422: {"model": ErrorBody, "description": "Invalid input; `fields` names each failing field"},
}
