"""Client portal: my KYC documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.api.deps import portal
from core.context import Ctx
from core.crm import kyc
from core.crm.schemas.kyc import KycDocumentOut, KycDocumentSubmit
from core.schemas import ListQuery, Page

router = APIRouter(tags=["portal"])


@router.get("/kyc-documents", response_model=Page[KycDocumentOut], summary="My KYC documents")
def my_documents(query: Annotated[ListQuery, Query()], ctx: Ctx = portal()) -> Page[KycDocumentOut]:
    return Page.of(kyc.list_documents(ctx, query.paging), KycDocumentOut)


@router.post(
    "/kyc-documents", response_model=KycDocumentOut, status_code=201, summary="Submit a KYC document"
)
def submit(body: KycDocumentSubmit, ctx: Ctx = portal()) -> KycDocumentOut:
    assert ctx.principal is not None
    return KycDocumentOut.model_validate(kyc.submit(ctx, ctx.principal.id, body))
