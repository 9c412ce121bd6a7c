"""Pop-ups and the email outbox (back office)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["notifications"])
