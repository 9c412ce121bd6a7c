"""Client Tier Upgrade: promote clients and IBs to higher tiers of their rank from their downline's
deposits, in a weekly settlement."""
