"""Users, their tokens, and the base-model catalog (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep, TransactionalRoute
from gateway.api.pages import After, Limit, page_body
from gateway.api.request_slots import lookup
from gateway.contract import PAGE_DEFAULT, Handle, HubId, LocalPath, ResourceId
from gateway.models import BaseModelPublic, Page, Role, TokenIssued, TokenPublic, UserCreated, UserPublic
from gateway.services import catalog, tokens, users

router = APIRouter(prefix="/v1", route_class=TransactionalRoute)


ExpiresDays = Annotated[float, Field(gt=0, le=3650, description="Days the token works.")]


class UserIn(BaseModel):
    name: Handle
    role: Role
    team: Handle = "default"
    expires_days: ExpiresDays | None = Field(default=None, description="Default: FTGATE_TOKEN_DAYS (90).")


class RotateIn(BaseModel):
    user: Handle | None = Field(default=None, description="Whose tokens (admins only); default: your own.")
    expires_days: ExpiresDays | None = Field(default=None, description="Default: FTGATE_TOKEN_DAYS (90).")


class ModelIn(BaseModel):
    name: Handle
    path: LocalPath = Field(description="A GGUF file, or a Hugging Face model directory, on the server.")
    upstream: HubId | None = Field(
        default=None, description="Its Hugging Face id (owner/name), which adapters name as their base."
    )


@router.get("/me", tags=["users"], response_model=UserPublic)
@lookup
def me(user: CurrentUser) -> Any:
    return user


@router.post("/users", tags=["users"], status_code=201, response_model=UserCreated)
def add_user(body: UserIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return users.add_user(
        rt=rt,
        session=session,
        actor=user,
        name=body.name,
        role=body.role.value,
        team=body.team,
        expires_days=body.expires_days,
    )


@router.get("/users", tags=["users"], response_model=Page[UserPublic])
@lookup
def list_users(
    rt: RuntimeDep, session: SessionDep, user: CurrentUser, limit: Limit = PAGE_DEFAULT, after: After = None
) -> Any:
    return page_body(users.list_users(rt=rt, session=session, actor=user, limit=limit, after=after))


@router.post("/users/{name}/disable", tags=["users"], response_model=UserPublic)
def disable_user(name: Handle, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """Disable a user: their tokens, console sessions and single sign-on are refused until enabled."""
    return users.set_disabled(rt=rt, session=session, actor=user, name=name, disabled=True)


@router.post("/users/{name}/enable", tags=["users"], response_model=UserPublic)
def enable_user(name: Handle, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return users.set_disabled(rt=rt, session=session, actor=user, name=name, disabled=False)


@router.get("/tokens", tags=["tokens"], response_model=Page[TokenPublic])
@lookup
def list_tokens(
    rt: RuntimeDep,
    session: SessionDep,
    user: CurrentUser,
    owner: Annotated[Handle | None, Query(alias="user", description="Whose (admins); default: yours")] = None,
    limit: Limit = PAGE_DEFAULT,
    after: After = None,
) -> Any:
    """Tokens (never the tokens themselves): id, status, expiry and revocation, oldest first."""
    return page_body(
        tokens.list_tokens(rt=rt, session=session, actor=user, user=owner, limit=limit, after=after)
    )


@router.post("/tokens/rotate", tags=["tokens"], status_code=201, response_model=TokenIssued)
def rotate_tokens(body: RotateIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    """A new token (shown once) replacing every working token of the user, revoked in the same step."""
    return tokens.rotate(rt=rt, session=session, actor=user, user=body.user, days=body.expires_days)


@router.post("/tokens/{token_id}/revoke", tags=["tokens"], response_model=TokenPublic)
def revoke_token(token_id: ResourceId, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return tokens.revoke(rt=rt, session=session, actor=user, token_id=token_id)


@router.post("/models", tags=["models"], status_code=201, response_model=BaseModelPublic)
def add_model(body: ModelIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return catalog.add_model(
        rt=rt, session=session, actor=user, name=body.name, path=Path(body.path), upstream=body.upstream
    )


@router.get("/models", tags=["models"], response_model=Page[BaseModelPublic])
@lookup
def list_models(
    rt: RuntimeDep, session: SessionDep, user: CurrentUser, limit: Limit = PAGE_DEFAULT, after: After = None
) -> Any:
    """Registered base models, in the order they were registered; `after` is a model's name."""
    return page_body(catalog.list_models(rt=rt, session=session, actor=user, limit=limit, after=after))
