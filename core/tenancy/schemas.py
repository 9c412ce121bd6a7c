from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from core.schemas import CurrencyCode, Email, Input, Name, Output, Patch, TimeZoneName

Slug = str


class TenantIn(Input):
    name: Name
    slug: Slug = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
    timezone: TimeZoneName = "UTC"
    base_currencies: list[CurrencyCode] = Field(default_factory=lambda: ["USD"], min_length=1, max_length=20)
    admin_email: Email
    admin_name: Name = "Administrator"
    admin_password: str = Field(min_length=1, max_length=128)

    @field_validator("base_currencies")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("currencies must be distinct")
        return value


class TenantUpdate(Patch):
    name: Name | None = None
    timezone: TimeZoneName | None = None
    base_currencies: list[CurrencyCode] | None = Field(default=None, min_length=1, max_length=20)

    @field_validator("base_currencies")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("currencies must be distinct")
        return value


class TenantOut(Output):
    id: int
    name: str
    slug: str
    timezone: str
    base_currencies: list[str]
    active: bool
    created_at: datetime


class OperatorIn(Input):
    email: Email
    name: Name
    password: str = Field(min_length=1, max_length=128)
