"""Client Notes' back-office pages, mounted at /backoffice/plugins/client_notes/ (contract 1.4).

* ``GET /``: the tenant's recent notes, paged (the navigation entry "Client notes").
* ``GET /clients/{client_id}``: one client's notes, with the form to add one.
* ``POST /clients/{client_id}/notes``: add a note. The panel's form posts here with htmx and gets
  the panel back, with the error beside the field (422) when the note is refused; a plain post
  is redirected to the client's notes.

The same panel shows on the client's page in the back office (slot ``backoffice.client_panel``,
registered in ``hooks.py``; ``client_panel`` gives its values). Every route declares the same
permission as its API route and calls the same service functions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from client_notes import service
from client_notes.routes import NoteIn
from core.sdk import (
    Client,
    Ctx,
    FormData,
    InvalidInput,
    ListQuery,
    PathId,
    field_errors,
    get_client,
    page,
    parse_form,
    staff,
)

pages = APIRouter()

ROOT = "/backoffice/plugins/client_notes"
PANEL = "client_notes/client_panel.html"


def client_panel(ctx: Ctx, client: Client) -> dict[str, Any]:
    """The panel's values: the slot's ``context`` function, and what the pages below render it with."""
    return {
        "client": client,
        "notes": service.notes_of(ctx, client.id),
        "max_length": service.max_length(ctx),
        "errors": {},
        "text": "",
    }


@pages.get("/")
def recent_notes(
    request: Request, query: Annotated[ListQuery, Query()], ctx: Ctx = staff("client_notes.read")
) -> Response:
    values = {"result": service.recent_notes(ctx, query.paging)}
    block = "listing" if request.headers.get("hx-request") else None  # paging swaps the list only
    return page(request, ctx, "client_notes/notes.html", values, block=block)


@pages.get("/clients/{client_id}")
def client_notes(request: Request, client_id: PathId, ctx: Ctx = staff("client_notes.read")) -> Response:
    client = get_client(ctx, client_id)  # 404 outside the user's data permissions
    return page(request, ctx, "client_notes/client.html", client_panel(ctx, client))


@pages.post("/clients/{client_id}/notes")
def add_note(
    request: Request, client_id: PathId, form: FormData, ctx: Ctx = staff("client_notes.write")
) -> Response:
    htmx = bool(request.headers.get("hx-request"))
    try:
        service.add_note(ctx, client_id, parse_form(NoteIn, form).text)
    except InvalidInput as error:
        client = get_client(ctx, client_id)
        values = {**client_panel(ctx, client), "errors": field_errors(error), "text": form.get("text", "")}
        if htmx:
            return page(request, ctx, PANEL, values, block="panel", status_code=422)
        return page(request, ctx, "client_notes/client.html", values, status_code=422)
    if htmx:  # the panel again, with the new note, swapped in place of the old one
        return page(request, ctx, PANEL, client_panel(ctx, get_client(ctx, client_id)), block="panel")
    return RedirectResponse(f"{ROOT}/clients/{client_id}", status_code=303)
