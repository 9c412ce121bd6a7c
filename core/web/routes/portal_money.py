"""The client portal's deposits (the list and a request form), KYC documents (the list and an
upload) and trading accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from core.api.deps import Paging, portal
from core.context import Ctx
from core.crm import deposits, kyc, trading_accounts
from core.crm.clients import get_client
from core.crm.models import DepositStatus, KycDocumentType
from core.crm.money import company_currencies
from core.crm.schemas.deposits import DepositRequestIn
from core.crm.schemas.kyc import KycDocumentSubmit
from core.errors import DomainError, InvalidInput
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page

router = APIRouter(prefix="/portal")

# What the upload form takes: the document types of ``KycDocumentSubmit`` and, for the file, the
# kinds a reviewer can open, up to a size a phone photo or a scanned PDF stays under.
KYC_MAX_BYTES = 10 * 1024 * 1024
KYC_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".png")


def _client_id(ctx: Ctx) -> int:
    assert ctx.principal is not None
    return ctx.principal.id


def _listing(
    request: Request, ctx: Ctx, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    if request.headers.get("hx-request") and request.method == "GET":
        return page(request, ctx, template, context, block="listing")
    return page(request, ctx, template, context, status_code=status_code)


# --- deposits ---------------------------------------------------------------------------------------


def _deposits_page(
    request: Request,
    ctx: Ctx,
    paging: Any,
    status: DepositStatus | None,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    result = deposits.list_deposits(ctx, paging, **({"status": status} if status else {}))
    context = {
        "result": result,
        "status": status.value if status else "",
        "statuses": list(DepositStatus),
        "currencies": company_currencies(ctx),
        "values": values or {},
        "errors": errors or {},
        "url": f"/portal/deposits?{'status=' + status.value + '&' if status else ''}",
    }
    return _listing(request, ctx, "portal/deposits.html", context, status_code)


@router.get("/deposits")
def deposits_page(
    request: Request,
    paging: Paging,
    status: Annotated[DepositStatus | None, Query()] = None,
    ctx: Ctx = portal(),
) -> Response:
    return _deposits_page(request, ctx, paging, status)


@router.post("/deposits")
def request_deposit(request: Request, paging: Paging, form: FormData, ctx: Ctx = portal()) -> Response:
    try:
        data = parse_form(DepositRequestIn, form)
        with ctx.session.begin_nested():
            deposits.request_deposit(ctx, _client_id(ctx), data)
    except DomainError as error:
        return _deposits_page(
            request, ctx, paging, None, values=form, errors=field_errors(error), status_code=error.status
        )
    return RedirectResponse("/portal/deposits", status_code=303)


# --- KYC documents ----------------------------------------------------------------------------------


def _kyc_page(
    request: Request,
    ctx: Ctx,
    paging: Any,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "result": kyc.list_documents(ctx, paging),
        "profile": get_client(ctx, _client_id(ctx)),
        "types": list(KycDocumentType),
        "extensions": ", ".join(KYC_EXTENSIONS),
        "max_mb": KYC_MAX_BYTES // (1024 * 1024),
        "values": values or {},
        "errors": errors or {},
        "url": "/portal/kyc?",
    }
    return _listing(request, ctx, "portal/kyc.html", context, status_code)


@router.get("/kyc")
def kyc_page(request: Request, paging: Paging, ctx: Ctx = portal()) -> Response:
    return _kyc_page(request, ctx, paging)


def checked_upload(upload: Any) -> str:
    """The uploaded file's name, once the file is one the form takes (else ``InvalidInput`` on
    ``file``)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput("file", "choose the file to upload")
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name.lower().endswith(KYC_EXTENSIONS):
        raise InvalidInput("file", f"must be a {', '.join(KYC_EXTENSIONS)} file")
    size = upload.size if upload.size is not None else 0
    if size == 0:
        raise InvalidInput("file", "the file is empty")
    if size > KYC_MAX_BYTES:
        raise InvalidInput("file", f"must be at most {KYC_MAX_BYTES // (1024 * 1024)} MB")
    return name


@router.post("/kyc")
def submit_document(request: Request, paging: Paging, form: FormData, ctx: Ctx = portal()) -> Response:
    values = {k: v for k, v in form.items() if k != "file"}
    try:
        data = parse_form(KycDocumentSubmit, {"doc_type": form.get("doc_type"), "file_name": "-"})
        data = data.model_copy(update={"file_name": checked_upload(form.get("file"))})
        parse_form(KycDocumentSubmit, data.model_dump())  # the API's limit on the name, too
        with ctx.session.begin_nested():
            kyc.submit(ctx, _client_id(ctx), data)
    except DomainError as error:
        errors = {("file" if k == "file_name" else k): v for k, v in field_errors(error).items()}
        return _kyc_page(request, ctx, paging, values=values, errors=errors, status_code=error.status)
    return RedirectResponse("/portal/kyc", status_code=303)


# --- trading accounts -------------------------------------------------------------------------------


@router.get("/accounts")
def accounts_page(request: Request, paging: Paging, ctx: Ctx = portal()) -> Response:
    context = {
        "result": trading_accounts.list_accounts(ctx, paging, archived=False),
        "url": "/portal/accounts?",
    }
    return _listing(request, ctx, "portal/accounts.html", context)
