"""Lists in pages: keyset pagination, oldest first, so a page never shifts when rows are added."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, or_
from sqlmodel import Session, col

from gateway.contract import PAGE_DEFAULT, PageAfter, PageLimit, invalid, require

T = TypeVar("T")


@dataclass(frozen=True)
class Listed(Generic[T]):
    """One page of a list: its rows, and the cursor of the next page (None on the last)."""

    items: list[T]
    next: str | None


def page(
    session: Session,
    query: Any,
    model: Any,
    *,
    limit: int = PAGE_DEFAULT,
    after: str | None = None,
    key: str = "id",
) -> Listed[Any]:
    """The rows of `query` (a select of `model`), ordered by creation then `key`, `limit` of them after
    the row whose `key` is `after`. `after` must name a row of `model`: a cursor that names nothing is
    refused (422) rather than read as the start."""
    limit = require(PageLimit, limit, "limit")
    created, ident = col(model.created_at), col(getattr(model, key))
    if after is not None:
        after = require(PageAfter, after, "after")
        anchor = session.get(model, after)
        if anchor is None:
            raise invalid("after", "value_error", "names no row: pass the `next` of the previous page")
        query = query.where(
            or_(created > anchor.created_at, and_(created == anchor.created_at, ident > after))
        )
    rows = list(session.exec(query.order_by(created, ident).limit(limit + 1)))
    more = len(rows) > limit
    return Listed(rows[:limit], getattr(rows[limit - 1], key) if more else None)
