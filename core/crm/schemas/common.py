"""Pieces the CRM's request bodies share across domains."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# A promotion link's code: links are created with one, and registrations name one.
PromotionCode = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
