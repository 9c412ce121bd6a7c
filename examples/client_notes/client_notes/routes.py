"""Client Notes' back-office API, at /api/v1/plugins/client_notes/."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from client_notes import service
from core.sdk import Ctx, ListQuery, Page, PathId, staff

router = APIRouter()


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    client_id: PathId
    author: str
    text: str
    created_at: datetime


class DigestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    week_start: date
    notes: int


@router.post(
    "/clients/{client_id}/notes", response_model=NoteOut, status_code=201, summary="Note on a client"
)
def add_note(client_id: PathId, body: NoteIn, ctx: Ctx = staff("client_notes.write")) -> NoteOut:
    return NoteOut.model_validate(service.add_note(ctx, client_id, body.text))


@router.get("/clients/{client_id}/notes", response_model=list[NoteOut], summary="A client's notes")
def notes(client_id: PathId, ctx: Ctx = staff("client_notes.read")) -> list[NoteOut]:
    return [NoteOut.model_validate(n) for n in service.notes_of(ctx, client_id)]


@router.get("/notes", response_model=Page[NoteOut], summary="Recent notes, newest first")
def recent_notes(
    query: Annotated[ListQuery, Query()], ctx: Ctx = staff("client_notes.read")
) -> Page[NoteOut]:
    return Page.of(service.recent_notes(ctx, query.paging), NoteOut)


@router.get("/digests", response_model=list[DigestOut], summary="Weekly digests, newest first")
def digests(ctx: Ctx = staff("client_notes.read")) -> list[DigestOut]:
    return [DigestOut.model_validate(d) for d in service.digests(ctx)]
