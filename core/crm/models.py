from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from core.access.models import Credentials
from core.crm.phones import normalize_phone
from core.db.base import Base, IdType, TenantOwned, Timestamped, utcnow
from core.db.types import Money, UTCDateTime, enum_type


class ClientType(enum.StrEnum):
    TRADER = "trader"
    IB = "ib"


class KycStatus(enum.StrEnum):
    NOT_SUBMITTED = "not_submitted"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ClientGroup(TenantOwned, Timestamped, Base):
    __tablename__ = "client_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")


class Rank(TenantOwned, Timestamped, Base):
    __tablename__ = "ranks"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(default=0)


class Tier(TenantOwned, Base):
    """A tier of a rank; ``level`` orders them, 1 being the lowest."""

    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("rank_id", "level"), UniqueConstraint("rank_id", "name"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    rank_id: Mapped[int] = mapped_column(ForeignKey("ranks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int]


class PromotionLink(TenantOwned, Timestamped, Base):
    """A registration link: who signs up through it gets its client type and referrer."""

    __tablename__ = "promotion_links"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    client_type: Mapped[ClientType] = mapped_column(enum_type(ClientType))
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    enabled: Mapped[bool] = mapped_column(default=True)


class Client(Credentials, TenantOwned, Timestamped, Base):
    """A trader or an introducing broker. ``referrer_id`` builds the referral tree."""

    __tablename__ = "clients"
    # On PostgreSQL the table keeps a tenth of each page free (migration core_0009): its rows
    # change often without an indexed column changing, and are then updated in place.
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        Index("ix_clients_tenant_referrer", "tenant_id", "referrer_id"),
        Index("ix_clients_tenant_team", "tenant_id", "team_id"),
        Index("ix_clients_tenant_assigned", "tenant_id", "assigned_user_id"),
        Index("ix_clients_tenant_phone_e164", "tenant_id", "phone_e164"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_type: Mapped[ClientType] = mapped_column(enum_type(ClientType))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    # The number as duplicate checks compare it (E.164), kept by the ORM from phone and country.
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8), default="en")
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("client_groups.id", ondelete="SET NULL"), index=True
    )
    rank_id: Mapped[int | None] = mapped_column(ForeignKey("ranks.id", ondelete="SET NULL"))
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("tiers.id", ondelete="SET NULL"))
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    # use_alter: promotion links also point at clients (their referrer), a cycle of tables.
    promotion_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("promotion_links.id", ondelete="SET NULL", use_alter=True)
    )
    kyc_status: Mapped[KycStatus] = mapped_column(enum_type(KycStatus), default=KycStatus.NOT_SUBMITTED)
    suspended: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@event.listens_for(Client, "before_insert")
@event.listens_for(Client, "before_update")
def _phone_e164(_mapper: object, _connection: object, client: Client) -> None:
    client.phone_e164 = normalize_phone(client.phone, client.country)


class DepositKind(enum.StrEnum):
    REQUEST = "request"  # made by the client in the portal
    MANUAL = "manual"  # entered by back-office staff


class DepositStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Deposit(TenantOwned, Timestamped, Base):
    __tablename__ = "deposits"
    __table_args__ = (Index("ix_deposits_tenant_status_client", "tenant_id", "status", "client_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[DepositKind] = mapped_column(enum_type(DepositKind))
    status: Mapped[DepositStatus] = mapped_column(enum_type(DepositStatus), default=DepositStatus.PENDING)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(500), default="")


class TradingPlatform(enum.StrEnum):
    MT4 = "mt4"
    MT5 = "mt5"
    CTRADER = "ctrader"
    FORTEX = "fortex"


class TradingAccount(TenantOwned, Timestamped, Base):
    __tablename__ = "trading_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "platform", "login"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    platform: Mapped[TradingPlatform] = mapped_column(enum_type(TradingPlatform))
    login: Mapped[str] = mapped_column(String(32))
    account_type: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    leverage: Mapped[int] = mapped_column(default=100)
    archived: Mapped[bool] = mapped_column(default=False)


class KycDocumentType(enum.StrEnum):
    PASSPORT = "passport"
    ID_CARD = "id_card"
    DRIVING_LICENCE = "driving_licence"
    PROOF_OF_ADDRESS = "proof_of_address"
    SELFIE = "selfie"
    OTHER = "other"


class KycDocumentStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class KycDocument(TenantOwned, Timestamped, Base):
    __tablename__ = "kyc_documents"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    doc_type: Mapped[KycDocumentType] = mapped_column(enum_type(KycDocumentType))
    file_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[KycDocumentStatus] = mapped_column(
        enum_type(KycDocumentStatus), default=KycDocumentStatus.PENDING
    )
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str] = mapped_column(String(500), default="")


class PropChallenge(TenantOwned, Timestamped, Base):
    __tablename__ = "prop_challenges"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    fee: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(default=True)


class PropOrderStatus(enum.StrEnum):
    PLACED = "placed"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PropOrder(TenantOwned, Timestamped, Base):
    """A client's purchase of a prop challenge at the price computed when it was placed."""

    __tablename__ = "prop_orders"
    __table_args__ = (UniqueConstraint("tenant_id", "client_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("prop_challenges.id", ondelete="RESTRICT"))
    list_price: Mapped[Decimal] = mapped_column(Money)
    final_price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    # Each price adjustment applied, in order: {"source", "code", "label", "amount"}.
    adjustments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # What the client chose at checkout (e.g. a coupon), passed to pricing extensions.
    pricing_options: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    status: Mapped[PropOrderStatus] = mapped_column(
        enum_type(PropOrderStatus), default=PropOrderStatus.PLACED
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str] = mapped_column(String(500), default="")
