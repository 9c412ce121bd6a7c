from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from core.access.models import DataScope
from core.schemas import AwareDatetime, Input, Name, Output, ShortText

PermissionName = str


class LoginIn(Input):
    tenant: str = Field(min_length=1, max_length=63, description="The company's slug")
    email: EmailStr
    password: str = Field(min_length=1, max_length=128)


class OperatorLoginIn(Input):
    email: EmailStr
    password: str = Field(min_length=1, max_length=128)


class TokenOut(Output):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class PermissionOut(Output):
    name: str
    label: str
    description: str
    module: str
    admin: bool


class TeamIn(Input):
    name: str = Field(min_length=1, max_length=100)
    description: ShortText = ""


class TeamUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: ShortText | None = None


class TeamOut(Output):
    id: int
    name: str
    description: str


class RoleIn(Input):
    name: str = Field(min_length=1, max_length=100)
    description: ShortText = ""
    data_scope: DataScope = DataScope.OWN
    permissions: list[PermissionName] = Field(default_factory=list, max_length=500)


class RoleUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: ShortText | None = None
    data_scope: DataScope | None = None
    permissions: list[PermissionName] | None = Field(default=None, max_length=500)


class RoleOut(Output):
    id: int
    name: str
    description: str
    data_scope: DataScope
    is_admin: bool
    permissions: list[str]


class UserIn(Input):
    email: EmailStr
    name: Name
    password: str = Field(min_length=1, max_length=128)
    team_id: int | None = None
    role_ids: list[int] = Field(default_factory=list, max_length=50)


class UserUpdate(Input):
    name: Name | None = None
    team_id: int | None = None
    active: bool | None = None
    role_ids: list[int] | None = Field(default=None, max_length=50)


class PasswordSet(Input):
    password: str = Field(min_length=1, max_length=128)


class PasswordChange(Input):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class UserOut(Output):
    id: int
    email: str
    name: str
    team_id: int | None
    active: bool
    role_ids: list[int]
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class MeOut(Output):
    kind: str
    id: int
    tenant_id: int | None
    label: str
    permissions: list[str]
    data_scope: DataScope
    team_id: int | None
    is_admin: bool


class ApiKeyIn(Input):
    name: str = Field(min_length=1, max_length=100)
    role_id: int
    expires_at: AwareDatetime | None = None


class ApiKeyOut(Output):
    id: int
    name: str
    prefix: str
    role_id: int
    created_by_user_id: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key. Shown once: store it now.")
