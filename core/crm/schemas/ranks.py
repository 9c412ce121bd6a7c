"""Request and response bodies of ranks and their tiers."""

from __future__ import annotations

from pydantic import Field, field_validator

from core.schemas import (
    Input,
    Output,
    Patch,
)


class TierIn(Input):
    name: str = Field(min_length=1, max_length=100)


class RankIn(Input):
    name: str = Field(min_length=1, max_length=100)
    sort_order: int = Field(default=0, ge=0, le=10_000)
    tiers: list[TierIn] = Field(min_length=1, max_length=50, description="Lowest tier first")

    @field_validator("tiers")
    @classmethod
    def _distinct(cls, tiers: list[TierIn]) -> list[TierIn]:
        names = [t.name.lower() for t in tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be distinct")
        return tiers


class RankUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)


class TierOut(Output):
    id: int
    name: str
    level: int


class RankOut(Output):
    id: int
    name: str
    sort_order: int
    tiers: list[TierOut]
