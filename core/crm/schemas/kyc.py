"""Request and response bodies of KYC documents."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from core.crm.models import (
    KycDocumentStatus,
    KycDocumentType,
)
from core.schemas import (
    Id,
    Input,
    Output,
    ShortText,
)


class KycDocumentIn(Input):
    """Staff upload on a client's behalf. (Files go to object storage; the CRM keeps the name.)"""

    client_id: Id
    doc_type: KycDocumentType
    file_name: str = Field(min_length=1, max_length=255)


class KycDocumentSubmit(Input):
    """A client's own submission in the portal."""

    doc_type: KycDocumentType
    file_name: str = Field(min_length=1, max_length=255)


class KycReviewIn(Input):
    note: ShortText = ""


class KycDocumentOut(Output):
    id: int
    client_id: int
    doc_type: KycDocumentType
    file_name: str
    status: KycDocumentStatus
    reviewed_by_user_id: int | None
    reviewed_at: datetime | None
    review_note: str
    created_at: datetime
