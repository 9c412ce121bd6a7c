from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from core.access.models import DataScope
from core.schemas import (
    AwareDatetime,
    Email,
    Id,
    Input,
    Name,
    Output,
    Patch,
    PermissionName,
    ShortText,
    distinct_list,
    id_list,
)

Ids50 = id_list(50)
PermissionNames = distinct_list(PermissionName, 500)


class LoginIn(Input):
    tenant: str = Field(min_length=1, max_length=63, description="The company's slug")
    email: Email
    password: str = Field(min_length=1, max_length=128)


class OperatorLoginIn(Input):
    email: Email
    password: str = Field(min_length=1, max_length=128)


class TokenOut(Output):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class PasswordResetIn(Input):
    tenant: str = Field(min_length=1, max_length=63, description="The company's slug")
    email: Email


class OperatorPasswordResetIn(Input):
    email: Email


# What an e-mailed link carries: URL-safe base64 of 32 random bytes.
AccountTokenText = Annotated[
    str,
    Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$", description="The code from the e-mail"),
]


class PasswordResetConfirmIn(Input):
    token: AccountTokenText
    password: str = Field(min_length=1, max_length=128, description="The new password (the password rule)")


class RegistrationConfirmIn(Input):
    token: AccountTokenText


class AcceptedOut(Output):
    """The same answer whatever happened next: nothing in it says whether the account exists."""

    message: str


class PermissionOut(Output):
    name: str
    label: str
    description: str
    module: str
    admin: bool


class TeamIn(Input):
    name: str = Field(min_length=1, max_length=100)
    description: ShortText = ""


class TeamUpdate(Patch):
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
    permissions: PermissionNames = Field(default_factory=list)


class RoleUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: ShortText | None = None
    data_scope: DataScope | None = None
    permissions: PermissionNames | None = None


class RoleOut(Output):
    id: int
    name: str
    description: str
    data_scope: DataScope
    is_admin: bool
    permissions: list[str]


class UserIn(Input):
    email: Email
    name: Name
    password: str = Field(min_length=1, max_length=128)
    team_id: Id | None = None
    role_ids: Ids50 = Field(default_factory=list)


class UserUpdate(Patch):
    clearable = frozenset({"team_id"})

    name: Name | None = None
    team_id: Id | None = None
    active: bool | None = None
    role_ids: Ids50 | None = Field(default=None)


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
    role_id: Id
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
