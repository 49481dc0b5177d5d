"""The query parameters and body of a list: `limit` and `after` in, `{data, count, next}` out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from gateway.contract import PageAfter, PageLimit
from gateway.store.pages import Listed

Limit = Annotated[PageLimit, Query()]
After = Annotated[PageAfter | None, Query()]


def page_body(found: Listed[Any]) -> dict[str, Any]:
    return {"data": found.items, "count": len(found.items), "next": found.next}
