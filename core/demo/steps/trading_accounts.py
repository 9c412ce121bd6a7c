"""Step: a trading account for every client, and KYC documents for most, in every review state."""

from __future__ import annotations

from core.crm.kyc import kyc_status_of
from core.crm.models import (
    KycDocument,
    KycDocumentStatus,
    KycDocumentType,
    TradingAccount,
    TradingPlatform,
)
from core.demo.context import DemoContext

FIRST_LOGIN = 700000  # the platform's account numbers: 700001, 700002, …
# Drawn from with equal odds: mostly verified.
DOCUMENT_STATUSES = [KycDocumentStatus.VERIFIED] * 3 + [KycDocumentStatus.PENDING, KycDocumentStatus.REJECTED]


def seed_trading_accounts(demo: DemoContext) -> None:
    rng = demo.rng
    for n, client in enumerate(demo.clients, start=1):
        demo.session.add(
            TradingAccount(
                tenant_id=demo.tenant_id,
                client_id=client.id,
                platform=rng.choice([TradingPlatform.MT4, TradingPlatform.MT5]),
                login=str(FIRST_LOGIN + n),
                account_type=rng.choice(["Standard", "Raw ECN", "Cent"]),
                currency=rng.choice(["USD", "EUR"]),
                leverage=rng.choice([100, 200, 500]),
            )
        )
        documents = []
        if rng.random() < 0.7:
            for doc_type in (KycDocumentType.PASSPORT, KycDocumentType.PROOF_OF_ADDRESS):
                documents.append(
                    KycDocument(
                        tenant_id=demo.tenant_id,
                        client_id=client.id,
                        doc_type=doc_type,
                        file_name=f"{doc_type.value}-{client.id}.pdf",
                        status=rng.choice(DOCUMENT_STATUSES),
                    )
                )
        demo.session.add_all(documents)
        client.kyc_status = kyc_status_of(documents)
