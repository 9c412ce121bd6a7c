from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from core.access.models import PrincipalKind
from core.api.csv import CSV_RESPONSE, csv_export, model_rows
from core.api.deps import Paging, staff
from core.audit import service
from core.context import Ctx
from core.schemas import AwareDatetime, ListQuery, Output, Page

router = APIRouter(tags=["system logs"])


class OperationOut(Output):
    id: int
    at: datetime
    actor_kind: str
    actor_id: int | None
    actor_label: str
    operation: str
    entity: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class LoginOut(Output):
    id: int
    at: datetime
    kind: PrincipalKind
    subject_id: int | None
    email: str
    success: bool
    reason: str
    ip: str | None


class OperationQuery(ListQuery):
    entity: str | None = Field(default=None, max_length=64, description="Table name, e.g. clients")
    entity_id: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=16)
    actor_kind: str | None = Field(default=None, max_length=16)
    actor_id: int | None = None
    at_from: AwareDatetime | None = None
    at_to: AwareDatetime | None = None

    def to_filter(self) -> service.LogFilter:
        return service.LogFilter(**self.filters())


@router.get("/operation-log", response_model=Page[OperationOut], summary="Every back-office write")
def operation_log(
    query: Annotated[OperationQuery, Query()], ctx: Ctx = staff("audit.read")
) -> Page[OperationOut]:
    return Page.of(service.list_operations(ctx, query.to_filter(), query.paging), OperationOut)


@router.get("/operation-log/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_operation_log(
    query: Annotated[OperationQuery, Query()], ctx: Ctx = staff("audit.read")
) -> StreamingResponse:
    filters = query.to_filter()
    return csv_export(
        ctx,
        "operation-log.csv",
        list(OperationOut.model_fields),
        lambda reader: model_rows(OperationOut, service.iter_operations(reader, filters)),
    )


@router.get("/login-log", response_model=Page[LoginOut], summary="Client and admin login attempts")
def login_log(
    page: Paging,
    email: Annotated[str | None, Query(max_length=254)] = None,
    success: bool | None = None,
    ctx: Ctx = staff("audit.read"),
) -> Page[LoginOut]:
    return Page.of(service.list_logins(ctx, page, email=email, success=success), LoginOut)
