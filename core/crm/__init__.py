"""The CRM records modules read and change: clients and their referral tree, groups, ranks and
tiers, deposits, trading accounts, KYC documents, promotion links, prop challenges and orders."""
