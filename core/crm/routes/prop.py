"""Prop challenges and prop-challenge orders (back office)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["prop trading"])
