"""``core.sdk``: everything a plugin may import from core, in one place.

This is the public, documented surface (``docs/plugins.md`` covers it whole). Within a major
version of the hook contract, a name here only changes in a backwards-compatible way; a name that
is going away is first deprecated. Everything else in ``core`` is internal and may change in any
release: a bundled plugin importing from anywhere else fails the project's checks.

Tests of a plugin may also use ``core.sdk.testing``.
"""

from core.access.auth import normalize_email
from core.access.models import User
from core.access.service import StaffChoices, get_user, staff_choices
from core.api.csv import CSV_RESPONSE, csv_export, format_time, timestamped
from core.api.deps import PathId, operator, portal, signed_in_staff, staff
from core.audit.recorder import LogEntry, record_action, record_actions
from core.bounds import MAX_AMOUNT, MAX_ID, MAX_PER_PAGE, MAX_SUM, amount_in_range, id_in_range
from core.context import Ctx
from core.contract import (
    HOOKS_VERSION,
    ICONS,
    OPERATORS,
    SLOTS,
    ClientMetric,
    ClientSegment,
    DeferredHandler,
    HookKind,
    Invitation,
    JobContext,
    LeadConversion,
    LostLease,
    MetricKind,
    MetricQuery,
    NavEntry,
    PortalPage,
    PriceAdjustment,
    Progress,
    Quote,
    SlotContribution,
    StatusChange,
    hookimpl,
)
from core.crm.audience import audience_query
from core.crm.clients import (
    TierMove,
    change_tier_if,
    change_tiers_if,
    create_client,
    get_client,
    set_client_group,
    update_client,
)
from core.crm.data_permissions import (
    client_condition,
    get_client_owned,
    scope_client_owned,
    scope_clients,
    staff_owned_condition,
    visible_client_ids,
)
from core.crm.emails import check_email
from core.crm.metrics import CORE_METRICS, available_metrics, counted_among_approved, counted_deposit
from core.crm.models import (
    Client,
    ClientGroup,
    ClientType,
    Deposit,
    DepositKind,
    DepositStatus,
    KycDocument,
    PromotionLink,
    PropChallenge,
    PropOrder,
    PropOrderStatus,
    Rank,
    Tier,
    TradingAccount,
)
from core.crm.money import check_company_currency, check_precision, company_currencies
from core.crm.phones import Normalized, normalize_phone, phone_normalizer
from core.crm.ranks import get_rank
from core.crm.schemas.clients import ClientIn, ClientUpdate
from core.crm.segments import list_segments, segment_query
from core.db.base import Base, IdType, TenantOwned, Timestamped, utcnow
from core.db.bulk import existing_values, insert_rows, key_chunks, one_of
from core.db.columns import read_columns, read_columns_later, read_columns_together
from core.db.lookup import ensure_unique, fetch
from core.db.paging import PageRequest, PageResult, count, paginate, paginate_rows
from core.db.session import serialize_on, tenant_insert, tenant_sql
from core.db.types import (
    UNITS_INT64_BOUND,
    Money,
    UTCDateTime,
    enum_type,
    epoch_seconds,
    money_sum,
    money_units,
    money_units_int64,
)
from core.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound, PermissionDenied
from core.marketplace.settings import settings_of
from core.notify.service import create_popup, create_popups, popup_each, queue_email
from core.plugins.dispatch import announce, listening
from core.portal.invitations import SentInvitation, invite_client, welcome_to_portal
from core.reference import display_amount, minor_units, round_to_currency
from core.scheduler.batches import BatchSize
from core.scheduler.deferred import defer
from core.scheduler.service import ensure_schedule, holds_lease, is_running, list_schedules, remove_schedule
from core.schemas import (
    Amount,
    AwareDatetime,
    CountryCode,
    CurrencyCode,
    Email,
    Id,
    Input,
    LanguageCode,
    ListQuery,
    MoneyOut,
    Name,
    NonNegativeAmount,
    Output,
    Page,
    Patch,
    Phone,
    PositiveAmount,
    SearchText,
    ShortName,
    ShortText,
    TimeZoneName,
    apply_changes,
    distinct_list,
    id_list,
    name_type,
    text_type,
)
from core.tenancy.models import Tenant
from core.web.forms import FormData, field_errors, parse_form
from core.web.pages import page, refusal_status, see_other

__all__ = [  # noqa: RUF022  (grouped by topic, as in docs/plugins.md)
    # the contract
    "HOOKS_VERSION",
    "HookKind",
    "DeferredHandler",
    "JobContext",
    "LostLease",
    "PortalPage",
    "PriceAdjustment",
    "Progress",
    "Quote",
    "hookimpl",
    # client metrics (contract 1.5)
    "ClientMetric",
    "MetricKind",
    "MetricQuery",
    "OPERATORS",
    "CORE_METRICS",
    "available_metrics",
    "counted_deposit",
    "counted_among_approved",
    # module events and client segments (contract 1.5)
    "announce",
    "listening",
    "Invitation",
    "LeadConversion",
    "StatusChange",
    "ClientSegment",
    "list_segments",
    "segment_query",
    # web pages (contract 1.4)
    "ICONS",
    "SLOTS",
    "NavEntry",
    "SlotContribution",
    "page",
    "see_other",
    "refusal_status",
    "FormData",
    "parse_form",
    "field_errors",
    # the unit of work, access declarations, errors
    "Ctx",
    "PathId",
    "operator",
    "portal",
    "signed_in_staff",
    "staff",
    "Conflict",
    "DomainError",
    "FieldError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    # models and column types
    "Base",
    "IdType",
    "Money",
    "UNITS_INT64_BOUND",
    "TenantOwned",
    "Timestamped",
    "UTCDateTime",
    "enum_type",
    "money_sum",
    "epoch_seconds",
    "money_units",
    "money_units_int64",
    "utcnow",
    "serialize_on",
    "tenant_insert",
    "insert_rows",
    "key_chunks",
    "one_of",
    "read_columns",
    "read_columns_later",
    "read_columns_together",
    "existing_values",
    "tenant_sql",
    # request and response schemas, bounds
    "Amount",
    "AwareDatetime",
    "CountryCode",
    "CurrencyCode",
    "Email",
    "Id",
    "Input",
    "LanguageCode",
    "ListQuery",
    "MoneyOut",
    "Name",
    "NonNegativeAmount",
    "Output",
    "Page",
    "Patch",
    "Phone",
    "PositiveAmount",
    "SearchText",
    "ShortName",
    "ShortText",
    "TimeZoneName",
    "apply_changes",
    "distinct_list",
    "id_list",
    "text_type",
    "name_type",
    "MAX_AMOUNT",
    "MAX_ID",
    "MAX_PER_PAGE",
    "MAX_SUM",
    "amount_in_range",
    "id_in_range",
    # paging, lookups, CSV export
    "PageRequest",
    "PageResult",
    "count",
    "paginate",
    "paginate_rows",
    "ensure_unique",
    "fetch",
    "CSV_RESPONSE",
    "csv_export",
    "format_time",
    "timestamped",
    # money
    "check_company_currency",
    "check_precision",
    "company_currencies",
    "display_amount",
    "minor_units",
    "round_to_currency",
    # CRM records, clients and data permissions
    "Client",
    "ClientGroup",
    "ClientType",
    "Deposit",
    "DepositKind",
    "DepositStatus",
    "KycDocument",
    "PromotionLink",
    "PropChallenge",
    "PropOrder",
    "PropOrderStatus",
    "Rank",
    "Tenant",
    "Tier",
    "TierMove",
    "TradingAccount",
    "audience_query",
    "change_tier_if",
    "change_tiers_if",
    "ClientIn",
    "ClientUpdate",
    "create_client",
    "update_client",
    "normalize_email",
    "normalize_phone",
    "phone_normalizer",
    "Normalized",
    "check_email",
    "invite_client",
    "welcome_to_portal",
    "SentInvitation",
    "client_condition",
    "get_client",
    "get_client_owned",
    "get_rank",
    "scope_client_owned",
    "scope_clients",
    "set_client_group",
    "visible_client_ids",
    "staff_owned_condition",
    "User",
    "get_user",
    "StaffChoices",
    "staff_choices",
    # pop-ups, schedules, settings, audit
    "create_popup",
    "create_popups",
    "popup_each",
    "queue_email",
    "BatchSize",
    "defer",
    "ensure_schedule",
    "holds_lease",
    "is_running",
    "list_schedules",
    "remove_schedule",
    "settings_of",
    "LogEntry",
    "record_action",
    "record_actions",
]
