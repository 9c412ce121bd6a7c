"""KYC documents, their review, and the client's KYC status that follows from them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, select

from core.context import Ctx
from core.crm.clients import get_client
from core.crm.data_permissions import get_client_owned, scope_client_owned
from core.crm.models import Client, KycDocument, KycDocumentStatus, KycDocumentType, KycStatus
from core.crm.schemas.kyc import KycDocumentIn, KycDocumentSubmit
from core.db.base import utcnow
from core.db.filters import where_equal
from core.db.paging import PageRequest, PageResult, paginate
from core.errors import Conflict
from core.plugins.dispatch import fire

IDENTITY_DOCUMENTS = frozenset(
    {KycDocumentType.PASSPORT, KycDocumentType.ID_CARD, KycDocumentType.DRIVING_LICENCE}
)
_NEVER = datetime.min.replace(tzinfo=UTC)  # sorts documents not (yet) reviewed first


def kyc_status_of(documents: Sequence[KycDocument]) -> KycStatus:
    """The client's KYC status from their documents (the one place this rule lives).

    * no document: not submitted;
    * a verified identity document (passport, ID card or driving licence) and a verified proof
      of address: verified. Documents cannot be un-verified, so this is final: a verified client
      stays verified while further documents are in review;
    * otherwise any document awaiting review: pending;
    * otherwise the latest review decides: rejected if it rejected a document (the client must
      resubmit), else pending (what was verified so far is not yet enough).
    """
    if not documents:
        return KycStatus.NOT_SUBMITTED
    verified = {d.doc_type for d in documents if d.status is KycDocumentStatus.VERIFIED}
    if verified & IDENTITY_DOCUMENTS and KycDocumentType.PROOF_OF_ADDRESS in verified:
        return KycStatus.VERIFIED
    if any(d.status is KycDocumentStatus.PENDING for d in documents):
        return KycStatus.PENDING
    latest = max(documents, key=lambda d: (d.reviewed_at or _NEVER, d.id or 0))
    return KycStatus.REJECTED if latest.status is KycDocumentStatus.REJECTED else KycStatus.PENDING


def _refresh_client_status(ctx: Ctx, client: Client) -> None:
    documents = list(ctx.session.scalars(select(KycDocument).where(KycDocument.client_id == client.id)))
    client.kyc_status = kyc_status_of(documents)


def _query(ctx: Ctx, **equal: Any) -> Select[Any]:
    stmt = scope_client_owned(select(KycDocument), ctx.principal, KycDocument.client_id)
    return where_equal(stmt, KycDocument, **equal).order_by(KycDocument.id.desc())


def list_documents(ctx: Ctx, page: PageRequest, **filters: Any) -> PageResult[KycDocument]:
    """Filters: client_id, status, doc_type."""
    return paginate(ctx.session, _query(ctx, **filters), page)


def get_document(ctx: Ctx, document_id: int, *, for_update: bool = False) -> KycDocument:
    document: KycDocument = get_client_owned(
        ctx, KycDocument, document_id, label="KYC document", for_update=for_update
    )
    return document


def _add(ctx: Ctx, client: Client, doc_type: KycDocumentType, file_name: str) -> KycDocument:
    document = KycDocument(
        client_id=client.id, doc_type=doc_type, file_name=file_name, tenant_id=ctx.tenant_id
    )
    ctx.session.add(document)
    ctx.session.flush()
    _refresh_client_status(ctx, client)
    ctx.session.flush()
    return document


def upload_for_client(ctx: Ctx, data: KycDocumentIn) -> KycDocument:
    """Staff add a document on a client's behalf."""
    ctx.require("kyc.review")
    return _add(
        ctx,
        get_client(ctx, data.client_id, field="client_id", for_update=True),
        data.doc_type,
        data.file_name,
    )


def submit(ctx: Ctx, client_id: int, data: KycDocumentSubmit) -> KycDocument:
    """A client submits a document in the portal."""
    return _add(ctx, get_client(ctx, client_id, for_update=True), data.doc_type, data.file_name)


def review(ctx: Ctx, document_id: int, *, verify: bool, note: str = "") -> KycDocument:
    """Verify or reject a pending document. The same decision again changes nothing; reversing a
    decision is refused (the client submits a new document instead)."""
    ctx.require("kyc.review")
    document = get_document(ctx, document_id)
    client = get_client(ctx, document.client_id, for_update=True)  # serializes the client's status
    ctx.session.refresh(document, with_for_update={"key_share": True})
    target = KycDocumentStatus.VERIFIED if verify else KycDocumentStatus.REJECTED
    if document.status is target:
        return document
    if document.status is not KycDocumentStatus.PENDING:
        raise Conflict(f"the document was already {document.status.value}")
    document.status = target
    document.reviewed_by_user_id = ctx.principal.user_id if ctx.principal else None
    document.reviewed_at = utcnow()
    document.review_note = note
    ctx.session.flush()
    _refresh_client_status(ctx, client)
    ctx.session.flush()
    if target is KycDocumentStatus.VERIFIED:
        fire(ctx, "crm_kyc_document_verified", document=document)
    return document
