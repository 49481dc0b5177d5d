"""Users, their tokens, and the base-model catalog (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.api.deps import CurrentUser, RuntimeDep, SessionDep
from gateway.api.pages import After, Limit, page_body
from gateway.contract import PAGE_DEFAULT, Handle, LocalPath
from gateway.models import BaseModelPublic, Page, Role, UserCreated, UserPublic
from gateway.services import catalog, users

router = APIRouter(prefix="/v1")


class UserIn(BaseModel):
    name: Handle
    role: Role
    team: Handle = "default"


class ModelIn(BaseModel):
    name: Handle
    path: LocalPath = Field(description="A GGUF file, or a Hugging Face model directory, on the server.")


@router.get("/me", tags=["users"], response_model=UserPublic)
def me(user: CurrentUser) -> Any:
    return user


@router.post("/users", tags=["users"], status_code=201, response_model=UserCreated)
def add_user(body: UserIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return users.add_user(
        rt=rt, session=session, actor=user, name=body.name, role=body.role.value, team=body.team
    )


@router.get("/users", tags=["users"], response_model=Page[UserPublic])
def list_users(
    rt: RuntimeDep, session: SessionDep, user: CurrentUser, limit: Limit = PAGE_DEFAULT, after: After = None
) -> Any:
    return page_body(users.list_users(rt=rt, session=session, actor=user, limit=limit, after=after))


@router.post("/models", tags=["models"], status_code=201, response_model=BaseModelPublic)
def add_model(body: ModelIn, rt: RuntimeDep, session: SessionDep, user: CurrentUser) -> Any:
    return catalog.add_model(rt=rt, session=session, actor=user, name=body.name, path=Path(body.path))


@router.get("/models", tags=["models"], response_model=Page[BaseModelPublic])
def list_models(
    rt: RuntimeDep, session: SessionDep, user: CurrentUser, limit: Limit = PAGE_DEFAULT, after: After = None
) -> Any:
    """Registered base models, in the order they were registered; `after` is a model's name."""
    return page_body(catalog.list_models(rt=rt, session=session, actor=user, limit=limit, after=after))
