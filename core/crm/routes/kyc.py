"""KYC documents and their review."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["KYC"])
