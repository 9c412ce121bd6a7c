"""Back-office sign-in, the caller's profile, and user/role/team/API-key management."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from core.access import auth, recovery, service
from core.access.models import Role, User
from core.access.schemas import (
    AcceptedOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    LoginIn,
    MeOut,
    PasswordChange,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordSet,
    PermissionOut,
    RoleIn,
    RoleOut,
    RoleUpdate,
    TeamIn,
    TeamOut,
    TeamUpdate,
    TokenOut,
    UserIn,
    UserOut,
    UserUpdate,
)
from core.api.deps import PathId, public, signed_in_staff, staff
from core.api.errors import ErrorBody
from core.context import Ctx
from core.schemas import Id, ListQuery, Page, SearchText

router = APIRouter()


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- sign-in -----------------------------------------------------------------------------------

# Documented on every sign-in, registration and recovery route.
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorBody,
        "description": "Too many attempts from this address or for this e-mail (`too_many_attempts`): "
        "wait `Retry-After` seconds. The same whether the account exists or not.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
        },
    }
}
LOGIN_DESCRIPTION = (
    "Wrong e-mail, wrong password, unknown company and a disabled account all answer the same 401. "
    "Repeated failures are throttled per e-mail and address, per address and per e-mail (429)."
)
RESET_DESCRIPTION = (
    "Always answers 202 with the same body; the e-mail with a single-use link (valid "
    "`CRM_PASSWORD_RESET_LINK_MINUTES`) goes out only if the account exists and may sign in."
)
RESET_CONFIRM_DESCRIPTION = (
    "Sets the new password (the password rule applies: 422 on `password`), ends every session of the "
    "account and clears its sign-in throttling. An unknown, used or expired code: 422 on `token`."
)


@router.post(
    "/auth/login",
    tags=["auth"],
    response_model=TokenOut,
    summary="Back-office login",
    description=LOGIN_DESCRIPTION,
    responses=THROTTLED,
)
def login(body: LoginIn, request: Request, ctx: Ctx = public()) -> TokenOut:
    issued = auth.login(
        ctx.session,
        ctx.runtime.settings,
        auth.Audience.BACK_OFFICE,
        email=str(body.email),
        password=body.password,
        tenant_slug=body.tenant,
        ip=client_ip(request),
    )
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.post(
    "/auth/password-reset",
    tags=["auth"],
    status_code=202,
    response_model=AcceptedOut,
    summary="E-mail me a link to choose a new password",
    description=RESET_DESCRIPTION,
    responses=THROTTLED,
)
def request_password_reset(body: PasswordResetIn, request: Request, ctx: Ctx = public()) -> AcceptedOut:
    recovery.request_password_reset(
        ctx,
        auth.Audience.BACK_OFFICE,
        email=str(body.email),
        tenant_slug=body.tenant,
        ip=client_ip(request),
    )
    return AcceptedOut(message=recovery.RESET_ACCEPTED)


@router.post(
    "/auth/password-reset/confirm",
    tags=["auth"],
    status_code=204,
    summary="Choose a new password with the code from the e-mail",
    description=RESET_CONFIRM_DESCRIPTION,
    responses=THROTTLED,
)
def confirm_password_reset(body: PasswordResetConfirmIn, request: Request, ctx: Ctx = public()) -> Response:
    recovery.confirm_password_reset(
        ctx, auth.Audience.BACK_OFFICE, token=body.token, password=body.password, ip=client_ip(request)
    )
    return Response(status_code=204)


@router.post("/auth/logout", tags=["auth"], status_code=204, summary="Revoke the current token")
def logout(ctx: Ctx = signed_in_staff()) -> Response:
    assert ctx.principal is not None
    auth.logout(ctx.session, ctx.principal)
    return Response(status_code=204)


@router.get("/me", tags=["auth"], response_model=MeOut, summary="The signed-in user or API key")
def me(ctx: Ctx = signed_in_staff()) -> MeOut:
    p = ctx.principal
    assert p is not None
    return MeOut(
        kind=p.kind.value,
        id=p.id,
        tenant_id=p.tenant_id,
        label=p.label,
        permissions=sorted(p.permissions),
        data_scope=p.data_scope,
        team_id=p.team_id,
        is_admin=p.is_admin,
    )


@router.post("/me/password", tags=["auth"], status_code=204, summary="Change my password")
def change_password(body: PasswordChange, ctx: Ctx = signed_in_staff()) -> Response:
    service.change_own_password(ctx, body.current_password, body.new_password)
    return Response(status_code=204)


# --- permissions, teams, roles -----------------------------------------------------------------


@router.get(
    "/permissions",
    tags=["access"],
    response_model=list[PermissionOut],
    summary="Every permission a role can grant",
)
def permissions(ctx: Ctx = staff("roles.read")) -> list[PermissionOut]:
    return [PermissionOut.model_validate(p) for p in service.grantable_permissions(ctx)]


@router.get("/teams", tags=["access"], response_model=list[TeamOut])
def list_teams(ctx: Ctx = staff("teams.read")) -> list[TeamOut]:
    return [TeamOut.model_validate(t) for t in service.list_teams(ctx)]


@router.post("/teams", tags=["access"], response_model=TeamOut, status_code=201)
def create_team(body: TeamIn, ctx: Ctx = staff("teams.manage")) -> TeamOut:
    return TeamOut.model_validate(service.create_team(ctx, body))


@router.get("/teams/{team_id}", tags=["access"], response_model=TeamOut)
def get_team(team_id: PathId, ctx: Ctx = staff("teams.read")) -> TeamOut:
    return TeamOut.model_validate(service.get_team(ctx, team_id))


@router.patch("/teams/{team_id}", tags=["access"], response_model=TeamOut)
def update_team(team_id: PathId, body: TeamUpdate, ctx: Ctx = staff("teams.manage")) -> TeamOut:
    return TeamOut.model_validate(service.update_team(ctx, team_id, body))


@router.delete("/teams/{team_id}", tags=["access"], status_code=204)
def delete_team(team_id: PathId, ctx: Ctx = staff("teams.manage")) -> Response:
    service.delete_team(ctx, team_id)
    return Response(status_code=204)


def role_out(role: Role) -> RoleOut:
    return RoleOut(
        id=role.id,
        name=role.name,
        description=role.description,
        data_scope=role.data_scope,
        is_admin=role.is_admin,
        permissions=sorted(role.permissions),
    )


@router.get("/roles", tags=["access"], response_model=list[RoleOut])
def list_roles(ctx: Ctx = staff("roles.read")) -> list[RoleOut]:
    return [role_out(r) for r in service.list_roles(ctx)]


@router.post(
    "/roles",
    tags=["access"],
    response_model=RoleOut,
    status_code=201,
    description="A user can grant only permissions they hold, and no wider data permission.",
)
def create_role(body: RoleIn, ctx: Ctx = staff("roles.manage")) -> RoleOut:
    return role_out(service.create_role(ctx, body))


@router.get("/roles/{role_id}", tags=["access"], response_model=RoleOut)
def get_role(role_id: PathId, ctx: Ctx = staff("roles.read")) -> RoleOut:
    return role_out(service.get_role(ctx, role_id))


@router.patch("/roles/{role_id}", tags=["access"], response_model=RoleOut)
def update_role(role_id: PathId, body: RoleUpdate, ctx: Ctx = staff("roles.manage")) -> RoleOut:
    return role_out(service.update_role(ctx, role_id, body))


@router.delete("/roles/{role_id}", tags=["access"], status_code=204)
def delete_role(role_id: PathId, ctx: Ctx = staff("roles.manage")) -> Response:
    service.delete_role(ctx, role_id)
    return Response(status_code=204)


# --- users -------------------------------------------------------------------------------------

CEILING = (
    "Refused (403, nothing changed) when the target (the user, or the key's role) holds a permission, "
    "a wider data permission or the administrator role that you do not."
)


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        team_id=user.team_id,
        active=user.active,
        role_ids=sorted(r.id for r in user.roles),
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


class UserQuery(ListQuery):
    team_id: Id | None = None
    active: bool | None = None
    q: SearchText | None = Field(default=None, description="E-mail or name contains")


@router.get("/users", tags=["access"], response_model=Page[UserOut])
def list_users(query: Annotated[UserQuery, Query()], ctx: Ctx = staff("users.read")) -> Page[UserOut]:
    result = service.list_users(ctx, query.paging, **query.filters())
    return Page[UserOut](
        items=[user_out(u) for u in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post("/users", tags=["access"], response_model=UserOut, status_code=201)
def create_user(body: UserIn, ctx: Ctx = staff("users.manage")) -> UserOut:
    return user_out(service.create_user(ctx, body))


@router.get("/users/{user_id}", tags=["access"], response_model=UserOut)
def get_user(user_id: PathId, ctx: Ctx = staff("users.read")) -> UserOut:
    return user_out(service.get_user(ctx, user_id))


@router.patch("/users/{user_id}", tags=["access"], response_model=UserOut, description=CEILING)
def update_user(user_id: PathId, body: UserUpdate, ctx: Ctx = staff("users.manage")) -> UserOut:
    return user_out(service.update_user(ctx, user_id, body))


@router.post(
    "/users/{user_id}/password",
    tags=["access"],
    status_code=204,
    summary="Set a user's password and end their sessions",
    description=CEILING,
)
def reset_password(user_id: PathId, body: PasswordSet, ctx: Ctx = staff("users.manage")) -> Response:
    service.reset_password(ctx, user_id, body.password)
    return Response(status_code=204)


@router.post(
    "/users/{user_id}/sessions/revoke",
    tags=["access"],
    status_code=204,
    summary="End every session of a user",
    description=f"Signs the user out everywhere; their Open API keys are revoked one by one. {CEILING}",
)
def revoke_user_sessions(user_id: PathId, ctx: Ctx = staff("users.manage")) -> Response:
    service.revoke_user_sessions(ctx, user_id)
    return Response(status_code=204)


# --- Open API keys -----------------------------------------------------------------------------


@router.get("/api-keys", tags=["access"], response_model=list[ApiKeyOut])
def list_api_keys(ctx: Ctx = staff("api_keys.manage")) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in service.list_api_keys(ctx)]


@router.post(
    "/api-keys",
    tags=["access"],
    response_model=ApiKeyCreated,
    status_code=201,
    description=f"The key is returned once, in this response; only its digest is stored. {CEILING}",
)
def create_api_key(body: ApiKeyIn, ctx: Ctx = staff("api_keys.manage")) -> ApiKeyCreated:
    api_key, secret = service.create_api_key(ctx, body)
    return ApiKeyCreated(**ApiKeyOut.model_validate(api_key).model_dump(), key=secret)


@router.post("/api-keys/{key_id}/revoke", tags=["access"], response_model=ApiKeyOut, description=CEILING)
def revoke_api_key(key_id: PathId, ctx: Ctx = staff("api_keys.manage")) -> ApiKeyOut:
    return ApiKeyOut.model_validate(service.revoke_api_key(ctx, key_id))
