"""Coupons and Promo Codes: discounts on prop-trading challenges, distributed to clients or typed
at checkout, redeemed exactly as often as allowed."""
