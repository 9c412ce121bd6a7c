"""Deposits: manual entries by staff, requests from the portal, approval."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["deposits"])
