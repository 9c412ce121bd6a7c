"""KYC documents and their review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.api.deps import PathId, staff
from core.context import Ctx
from core.crm import kyc
from core.crm.models import KycDocumentStatus, KycDocumentType
from core.crm.schemas.kyc import KycDocumentIn, KycDocumentOut, KycReviewIn
from core.schemas import Id, ListQuery, Page

router = APIRouter(tags=["KYC"])


class DocumentQuery(ListQuery):
    client_id: Id | None = None
    status: KycDocumentStatus | None = None
    doc_type: KycDocumentType | None = None


@router.get(
    "/kyc-documents",
    response_model=Page[KycDocumentOut],
    summary="KYC documents of clients within my data permissions",
)
def list_documents(
    query: Annotated[DocumentQuery, Query()], ctx: Ctx = staff("kyc.read")
) -> Page[KycDocumentOut]:
    return Page.of(kyc.list_documents(ctx, query.paging, **query.filters()), KycDocumentOut)


@router.post(
    "/kyc-documents",
    response_model=KycDocumentOut,
    status_code=201,
    summary="Add a document on a client's behalf",
)
def upload(body: KycDocumentIn, ctx: Ctx = staff("kyc.review")) -> KycDocumentOut:
    return KycDocumentOut.model_validate(kyc.upload_for_client(ctx, body))


@router.get("/kyc-documents/{document_id}", response_model=KycDocumentOut)
def get_document(document_id: PathId, ctx: Ctx = staff("kyc.read")) -> KycDocumentOut:
    return KycDocumentOut.model_validate(kyc.get_document(ctx, document_id))


@router.post(
    "/kyc-documents/{document_id}/verify",
    response_model=KycDocumentOut,
    description="Updates the client's KYC status.",
)
def verify(
    document_id: PathId, body: KycReviewIn | None = None, ctx: Ctx = staff("kyc.review")
) -> KycDocumentOut:
    return KycDocumentOut.model_validate(
        kyc.review(ctx, document_id, verify=True, note=body.note if body else "")
    )


@router.post(
    "/kyc-documents/{document_id}/reject",
    response_model=KycDocumentOut,
    description="Updates the client's KYC status.",
)
def reject(
    document_id: PathId, body: KycReviewIn | None = None, ctx: Ctx = staff("kyc.review")
) -> KycDocumentOut:
    return KycDocumentOut.model_validate(
        kyc.review(ctx, document_id, verify=False, note=body.note if body else "")
    )
