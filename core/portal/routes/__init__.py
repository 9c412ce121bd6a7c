"""Client-portal routes, all under /portal and all requiring a client token (but sign-in and
registration)."""

from __future__ import annotations

from fastapi import APIRouter

from core.portal.routes import accounts, auth, deposits, kyc, notifications, profile, prop

router = APIRouter(prefix="/portal")
for module in (auth, profile, deposits, accounts, kyc, prop, notifications):
    router.include_router(module.router)
