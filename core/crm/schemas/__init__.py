"""Request and response bodies of the CRM records, one module per domain (as ``core.crm.routes``);
every name is re-exported here, so ``from core.crm.schemas import X`` keeps working."""

from core.crm.schemas.clients import CLIENT_CSV_COLUMNS, ClientIn, ClientOut, ClientUpdate, DownlineOut
from core.crm.schemas.common import PromotionCode
from core.crm.schemas.deposits import (
    DepositDecisionIn,
    DepositOut,
    DepositRequestIn,
    DepositUpdate,
    ManualDepositIn,
)
from core.crm.schemas.groups import ClientGroupIn, ClientGroupOut, ClientGroupUpdate
from core.crm.schemas.kyc import KycDocumentIn, KycDocumentOut, KycDocumentSubmit, KycReviewIn
from core.crm.schemas.portal import PortalProfileOut, PortalProfileUpdate, RegisteredOut, RegistrationIn
from core.crm.schemas.promotion import PromotionLinkIn, PromotionLinkOut, PromotionLinkUpdate
from core.crm.schemas.prop import (
    ChallengeOfferOut,
    OptionValue,
    OrderIn,
    OrderStatusIn,
    PriceAdjustmentOut,
    PropChallengeIn,
    PropChallengeOut,
    PropChallengeUpdate,
    PropOrderOut,
    QuoteOut,
)
from core.crm.schemas.ranks import RankIn, RankOut, RankUpdate, TierIn, TierOut
from core.crm.schemas.trading_accounts import TradingAccountIn, TradingAccountOut, TradingAccountUpdate

__all__ = [
    "CLIENT_CSV_COLUMNS",
    "ChallengeOfferOut",
    "ClientGroupIn",
    "ClientGroupOut",
    "ClientGroupUpdate",
    "ClientIn",
    "ClientOut",
    "ClientUpdate",
    "DepositDecisionIn",
    "DepositOut",
    "DepositRequestIn",
    "DepositUpdate",
    "DownlineOut",
    "KycDocumentIn",
    "KycDocumentOut",
    "KycDocumentSubmit",
    "KycReviewIn",
    "ManualDepositIn",
    "OptionValue",
    "OrderIn",
    "OrderStatusIn",
    "PortalProfileOut",
    "PortalProfileUpdate",
    "PriceAdjustmentOut",
    "PromotionCode",
    "PromotionLinkIn",
    "PromotionLinkOut",
    "PromotionLinkUpdate",
    "PropChallengeIn",
    "PropChallengeOut",
    "PropChallengeUpdate",
    "PropOrderOut",
    "QuoteOut",
    "RankIn",
    "RankOut",
    "RankUpdate",
    "RegisteredOut",
    "RegistrationIn",
    "TierIn",
    "TierOut",
    "TradingAccountIn",
    "TradingAccountOut",
    "TradingAccountUpdate",
]
