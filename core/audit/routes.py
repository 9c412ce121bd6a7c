from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import Field

from core.access.models import PrincipalKind
from core.api.csv import CSV_RESPONSE, csv_export, model_rows
from core.api.deps import staff
from core.audit import service
from core.context import Ctx
from core.schemas import AwareDatetime, Id, ListQuery, Output, Page

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
    client_id: int | None  # the client the entry is about (None: about no client)


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
    actor_id: Id | None = None
    client_id: Id | None = Field(
        default=None, description="Entries about this client (none if it is outside your data permissions)"
    )
    at_from: AwareDatetime | None = None
    at_to: AwareDatetime | None = None

    def to_filter(self) -> service.LogFilter:
        return service.LogFilter(**self.filters())


class LoginQuery(ListQuery):
    email: str | None = Field(default=None, max_length=254)
    success: bool | None = None

    def to_filter(self) -> service.LoginFilter:
        return service.LoginFilter(**self.filters())


def operation_log_csv(ctx: Ctx, filters: service.LogFilter) -> StreamingResponse:
    """The operation log's CSV, for the API's export and the back office's export link alike."""
    return csv_export(
        ctx,
        "operation-log.csv",
        list(OperationOut.model_fields),
        lambda reader: model_rows(OperationOut, service.iter_operations(reader, filters)),
    )


def login_log_csv(ctx: Ctx, filters: service.LoginFilter) -> StreamingResponse:
    """The login log's CSV, for the API's export and the back office's export link alike."""
    return csv_export(
        ctx,
        "login-log.csv",
        list(LoginOut.model_fields),
        lambda reader: model_rows(LoginOut, service.iter_logins(reader, filters)),
    )


# Both logs show a user only entries about clients within their data permissions, and entries
# about no client only to users who see all company data (the rule: ``core.audit.service``).


@router.get("/operation-log", response_model=Page[OperationOut], summary="Every back-office write")
def operation_log(
    query: Annotated[OperationQuery, Query()], ctx: Ctx = staff("audit.read")
) -> Page[OperationOut]:
    return Page.of(service.list_operations(ctx, query.to_filter(), query.paging), OperationOut)


@router.get("/operation-log/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_operation_log(
    query: Annotated[OperationQuery, Query()], ctx: Ctx = staff("audit.read")
) -> StreamingResponse:
    return operation_log_csv(ctx, query.to_filter())


@router.get("/login-log", response_model=Page[LoginOut], summary="Client and admin login attempts")
def login_log(query: Annotated[LoginQuery, Query()], ctx: Ctx = staff("audit.read")) -> Page[LoginOut]:
    return Page.of(service.list_logins(ctx, query.to_filter(), query.paging), LoginOut)


@router.get("/login-log/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_login_log(
    query: Annotated[LoginQuery, Query()], ctx: Ctx = staff("audit.read")
) -> StreamingResponse:
    return login_log_csv(ctx, query.to_filter())
