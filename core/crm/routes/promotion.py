"""Promotion links: registration links with a client type and a referrer."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["promotion links"])
