"""Back-office access management: teams, roles (with the grant rules), users and API keys.

The grant rules that stop privilege escalation:
* a role can only be given permissions that exist and that the acting user holds;
* a role's data permission cannot be wider than the acting user's;
* a role can be assigned (or taken away) only by a user who holds all of its permissions;
* the administrator role is managed by the system and at least one active administrator remains.

And the privilege ceiling (``ensure_may_act_on``): a user or API key may act on another user,
an API key or a role only if the target holds no permission, no wider data permission and no
administrator role that the actor does not hold. The system (no principal: CLI, migrations)
acts freely.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from core.access.auth import normalize_email, revoke_tokens, set_password
from core.access.credentials import check_password_strength, new_api_key, verify_password
from core.access.models import ApiKey, DataScope, PrincipalKind, Role, RolePermission, Team, User, UserRole
from core.access.permissions import Permission
from core.access.schemas import ApiKeyIn, RoleIn, RoleUpdate, TeamIn, TeamUpdate, UserIn, UserUpdate
from core.context import Ctx
from core.db.base import utcnow
from core.db.lookup import ensure_unique, fetch
from core.db.paging import PageRequest, PageResult, paginate
from core.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from core.marketplace.state import installed_plugins
from core.schemas import apply_changes

ADMIN_ROLE_NAME = "Administrator"


# --- the privilege ceiling ---------------------------------------------------------------------


@dataclass(frozen=True)
class Power:
    """Everything a user or an API key can do: the union of their roles."""

    permissions: frozenset[str]
    data_scope: DataScope
    is_admin: bool

    @classmethod
    def of_roles(cls, roles: Iterable[Role]) -> Power:
        """A user's power: every role's permissions, the widest data permission (own without roles,
        as at sign-in), administrator when any role is the administrator role."""
        roles = list(roles)
        return cls(
            permissions=frozenset(name for role in roles for name in role.permissions),
            data_scope=max((r.data_scope for r in roles), key=lambda s: s.breadth, default=DataScope.OWN),
            is_admin=any(role.is_admin for role in roles),
        )


def ensure_may_act_on(ctx: Ctx, target: Power, *, what: str) -> None:
    """The privilege ceiling, for every action on a user, an API key or a role: the target must
    hold nothing the actor does not (no permission, no wider data permission, not the administrator
    role unless the actor is an administrator); equal power is allowed. ``what`` names the target
    in the refusal. The system (no principal) acts freely."""
    actor = ctx.principal
    if actor is None:
        return
    if target.is_admin and not actor.is_admin:
        raise PermissionDenied(f"{what} holds the administrator role: only an administrator can do this")
    missing = sorted(target.permissions - actor.permissions)
    if missing:
        raise PermissionDenied(
            f"{what} holds permissions you do not ({', '.join(missing)}): you cannot do this"
        )
    if target.data_scope.breadth > actor.data_scope.breadth:
        raise PermissionDenied(
            f"{what} sees wider data ({target.data_scope}) than you ({actor.data_scope}): you cannot do this"
        )


# --- teams -------------------------------------------------------------------------------------


def list_teams(ctx: Ctx) -> list[Team]:
    return list(ctx.session.scalars(select(Team).order_by(Team.name)))


@dataclass(frozen=True)
class StaffChoices:
    """Whom a record can be given to: the active back-office users and the teams, as (id, name)."""

    users: list[tuple[int, str]]
    teams: list[tuple[int, str]]


def staff_choices(ctx: Ctx) -> StaffChoices:
    """The owner and team choices of a form (a plugin's record owned by staff), by name."""
    users = ctx.session.execute(select(User.id, User.name).where(User.active.is_(True)).order_by(User.name))
    teams = ctx.session.execute(select(Team.id, Team.name).order_by(Team.name))
    return StaffChoices(users=[(i, n) for i, n in users], teams=[(i, n) for i, n in teams])


def get_team(ctx: Ctx, team_id: int, *, field: str | None = None) -> Team:
    return fetch(ctx.session, Team, team_id, label="team", field=field)


def create_team(ctx: Ctx, data: TeamIn) -> Team:
    ctx.require("teams.manage")
    ensure_unique(ctx.session, Team.name, data.name, label="team")
    team = Team(name=data.name, description=data.description)
    ctx.session.add(team)
    ctx.session.flush()
    return team


def update_team(ctx: Ctx, team_id: int, data: TeamUpdate) -> Team:
    ctx.require("teams.manage")
    team = get_team(ctx, team_id)
    changes = data.changes()
    if "name" in changes:
        ensure_unique(ctx.session, Team.name, changes["name"], label="team", exclude_id=team.id)
    apply_changes(team, changes)
    ctx.session.flush()
    return team


def delete_team(ctx: Ctx, team_id: int) -> None:
    """Members and clients of the team keep existing, without a team."""
    ctx.require("teams.manage")
    team = get_team(ctx, team_id)
    ctx.session.delete(team)
    ctx.session.flush()


# --- roles -------------------------------------------------------------------------------------


def list_roles(ctx: Ctx) -> list[Role]:
    return list(ctx.session.scalars(select(Role).order_by(Role.is_admin.desc(), Role.name)))


def get_role(ctx: Ctx, role_id: int, *, field: str | None = None) -> Role:
    return fetch(ctx.session, Role, role_id, label="role", field=field)


def grantable_permissions(ctx: Ctx) -> list[Permission]:
    """What the tenant's role editor offers: core's permissions and those of its installed modules."""
    installed = installed_plugins(ctx.session)
    return [p for p in ctx.runtime.permissions if p.module == "core" or p.module in installed]


def _check_can_grant(ctx: Ctx, permissions: Iterable[str], scope: DataScope | None) -> None:
    known = {p.name for p in grantable_permissions(ctx)}
    for name in permissions:
        if name not in known:
            raise InvalidInput("permissions", f"unknown permission {name!r}")
    actor = ctx.principal
    if actor is None:  # the system (CLI, migrations) grants anything
        return
    missing = sorted(set(permissions) - actor.permissions)
    if missing:
        raise PermissionDenied(f"you cannot grant permissions you do not hold: {', '.join(missing)}")
    if scope is not None and scope.breadth > actor.data_scope.breadth:
        raise PermissionDenied(f"you cannot grant a wider data permission than your own ({actor.data_scope})")


def _set_grants(role: Role, permissions: set[str]) -> None:
    current = {grant.permission: grant for grant in role.grants}
    for name in set(current) - permissions:
        role.grants.remove(current[name])
    for name in sorted(permissions - set(current)):
        role.grants.append(RolePermission(permission=name, tenant_id=role.tenant_id))


def create_role(ctx: Ctx, data: RoleIn) -> Role:
    ctx.require("roles.manage")
    permissions = set(data.permissions)
    _check_can_grant(ctx, permissions, data.data_scope)
    ensure_unique(ctx.session, Role.name, data.name, label="role")
    role = Role(
        name=data.name, description=data.description, data_scope=data.data_scope, tenant_id=ctx.tenant_id
    )
    ctx.session.add(role)
    _set_grants(role, permissions)
    ctx.session.flush()
    return role


def update_role(ctx: Ctx, role_id: int, data: RoleUpdate) -> Role:
    ctx.require("roles.manage")
    role = get_role(ctx, role_id)
    ensure_may_act_on(ctx, Power.of_roles([role]), what="this role")  # it is the power of its holders
    changes = data.changes()
    permissions = changes.pop("permissions", None)  # grants are rows of their own, not an attribute
    scope = changes.get("data_scope", DataScope.ALL)
    if role.is_admin and (permissions is not None or scope is not DataScope.ALL):
        raise Conflict("the administrator role always holds every permission over all company data")
    if permissions is not None:
        wanted = set(permissions)
        _check_can_grant(ctx, wanted ^ role.permissions, None)  # added and removed alike
        _set_grants(role, wanted)
    if changes.get("data_scope", role.data_scope) != role.data_scope:
        _check_can_grant(ctx, (), changes["data_scope"])
        _check_can_grant(ctx, (), role.data_scope)
    if "name" in changes:
        ensure_unique(ctx.session, Role.name, changes["name"], label="role", exclude_id=role.id)
    apply_changes(role, changes)
    ctx.session.flush()
    return role


def delete_role(ctx: Ctx, role_id: int) -> None:
    ctx.require("roles.manage")
    role = get_role(ctx, role_id)
    if role.is_admin:
        raise Conflict("the administrator role cannot be deleted")
    ensure_may_act_on(ctx, Power.of_roles([role]), what="this role")
    users = ctx.session.scalar(select(func.count()).select_from(UserRole).where(UserRole.role_id == role.id))
    keys = ctx.session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.role_id == role.id, ApiKey.revoked_at.is_(None))
    )
    if users or keys:
        raise Conflict(f"the role is in use by {users} user(s) and {keys} API key(s); reassign them first")
    ctx.session.delete(role)
    ctx.session.flush()


def role_ids_of(ctx: Ctx, user: User) -> list[int]:
    return sorted(role.id for role in user.roles)


# --- users -------------------------------------------------------------------------------------


def list_users(
    ctx: Ctx,
    page: PageRequest,
    *,
    team_id: int | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> PageResult[User]:
    stmt = select(User).order_by(User.id)
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    if active is not None:
        stmt = stmt.where(User.active == active)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(User.email).like(like) | func.lower(User.name).like(like))
    return paginate(ctx.session, stmt, page)


def get_user(ctx: Ctx, user_id: int, *, field: str | None = None) -> User:
    return fetch(ctx.session, User, user_id, label="user", field=field)


def _user_to_act_on(ctx: Ctx, user_id: int) -> User:
    """The user an action targets, once the privilege ceiling allows it (else 404 or 403).

    The row lock (FOR NO KEY UPDATE) serializes the actions on one user, so a role granted by a
    concurrent request cannot slip in between this check and the change."""
    stmt = (
        select(User)
        .where(User.id == user_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    user = ctx.session.scalar(stmt)
    if user is None:
        raise NotFound("user not found")
    ensure_may_act_on(ctx, Power.of_roles(user.roles), what="this user")
    return user


def check_team(ctx: Ctx, team_id: int | None) -> None:
    """A team reference in a request body (None means no team)."""
    if team_id is not None:
        get_team(ctx, team_id, field="team_id")


def _assign_roles(ctx: Ctx, user: User, role_ids: list[int]) -> None:
    wanted = {role_id: get_role(ctx, role_id, field="role_ids") for role_id in set(role_ids)}
    links = ctx.session.scalars(select(UserRole).where(UserRole.user_id == user.id))
    current = {link.role_id: link for link in links}
    for role_id in set(wanted) ^ set(current):
        role = wanted.get(role_id) or get_role(ctx, role_id)
        if role.is_admin and ctx.principal is not None and not ctx.principal.is_admin:
            raise PermissionDenied("only an administrator can assign or remove the administrator role")
        _check_can_grant(ctx, role.permissions, role.data_scope)
    for role_id in set(current) - set(wanted):
        ctx.session.delete(current[role_id])
    for role_id in sorted(set(wanted) - set(current)):
        ctx.session.add(UserRole(user_id=user.id, role_id=role_id, tenant_id=user.tenant_id))
    ctx.session.flush()
    ctx.session.expire(user, ["roles"])
    # The ceiling after the change too: the user's new power stays within the actor's.
    ensure_may_act_on(ctx, Power.of_roles(user.roles), what="this user with these roles")


def _active_admins(ctx: Ctx) -> int:
    return (
        ctx.session.scalar(
            select(func.count(func.distinct(User.id)))
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.is_admin, User.active)
        )
        or 0
    )


def create_user(ctx: Ctx, data: UserIn) -> User:
    ctx.require("users.manage")
    email = normalize_email(str(data.email))
    if ctx.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with this email exists", fields=[FieldError("email", "already in use")])
    check_password_strength(data.password, email=email)
    check_team(ctx, data.team_id)
    user = User(email=email, name=data.name, team_id=data.team_id, tenant_id=ctx.tenant_id)
    set_password(ctx.session, user, data.password)
    ctx.session.add(user)
    ctx.session.flush()
    _assign_roles(ctx, user, data.role_ids)
    return user


def update_user(ctx: Ctx, user_id: int, data: UserUpdate) -> User:
    """Edit a user (name, team, active, roles) within the privilege ceiling, before and after."""
    ctx.require("users.manage")
    user = _user_to_act_on(ctx, user_id)
    was_admin_count = _active_admins(ctx)
    changes = data.changes()
    role_ids = changes.pop("role_ids", None)  # assignments are rows of their own, not an attribute
    deactivated = changes.get("active") is False and user.active
    if "team_id" in changes:
        check_team(ctx, changes["team_id"])
    apply_changes(user, changes)
    if role_ids is not None:
        _assign_roles(ctx, user, role_ids)
    if deactivated:
        revoke_tokens(ctx.session, PrincipalKind.STAFF, user.id)
    ctx.session.flush()
    if was_admin_count and _active_admins(ctx) == 0:
        raise Conflict("at least one active administrator must remain")
    return user


def reset_password(ctx: Ctx, user_id: int, password: str) -> None:
    """Set a user's password and end their sessions, within the privilege ceiling."""
    ctx.require("users.manage")
    user = _user_to_act_on(ctx, user_id)
    check_password_strength(password, email=user.email)
    set_password(ctx.session, user, password)
    revoke_tokens(ctx.session, PrincipalKind.STAFF, user.id)


def revoke_user_sessions(ctx: Ctx, user_id: int) -> None:
    """End every sign-in token of a user (the caller's own too, when they name themselves), within
    the privilege ceiling. API keys are credentials of their own: revoked one by one."""
    ctx.require("users.manage")
    user = _user_to_act_on(ctx, user_id)
    revoke_tokens(ctx.session, PrincipalKind.STAFF, user.id)


def change_own_password(ctx: Ctx, current: str, new: str) -> None:
    assert ctx.principal is not None and ctx.principal.kind is PrincipalKind.STAFF
    user = get_user(ctx, ctx.principal.id)
    if not verify_password(user.password_hash, current):
        raise InvalidInput("current_password", "is not correct")
    check_password_strength(new, email=user.email, field="new_password")
    set_password(ctx.session, user, new)
    revoke_tokens(ctx.session, PrincipalKind.STAFF, user.id, keep=ctx.principal.token_id)


def assigned_user(ctx: Ctx, user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    return get_user(ctx, user_id, field=field)


# --- API keys ----------------------------------------------------------------------------------


def list_api_keys(ctx: Ctx) -> list[ApiKey]:
    return list(ctx.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def create_api_key(ctx: Ctx, data: ApiKeyIn) -> tuple[ApiKey, str]:
    ctx.require("api_keys.manage")
    if ctx.principal is None or ctx.principal.user_id is None:
        raise PermissionDenied("an API key is created by a back-office user")
    role = get_role(ctx, data.role_id, field="role_id")
    ensure_may_act_on(ctx, Power.of_roles([role]), what="this API key's role")
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise InvalidInput("expires_at", "must be in the future")
    key, prefix, key_hash = new_api_key()
    api_key = ApiKey(
        name=data.name,
        prefix=prefix,
        key_hash=key_hash,
        role_id=role.id,
        created_by_user_id=ctx.principal.user_id,
        expires_at=data.expires_at,
        tenant_id=ctx.tenant_id,
    )
    ctx.session.add(api_key)
    ctx.session.flush()
    return api_key, key


def revoke_api_key(ctx: Ctx, key_id: int) -> ApiKey:
    """Revoke a key, within the privilege ceiling: its role holds nothing the actor does not."""
    ctx.require("api_keys.manage")
    api_key = ctx.session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound("API key not found")
    ensure_may_act_on(ctx, Power.of_roles([get_role(ctx, api_key.role_id)]), what="this API key")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    return api_key
