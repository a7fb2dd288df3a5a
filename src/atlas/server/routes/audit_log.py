"""``/api/v1/audit``: the caller's workspace's audit trail, oldest first, a page at a time.

A workspace sees its own entries only: those of other workspaces, and those of requests
refused before their caller was known, are the operator's (``atlas audit``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from atlas.server.context import caller, json_answer, query_int, service
from atlas.store.audit import entry_json

__all__ = ["MAX_PAGE", "list_entries"]

MAX_PAGE = 1000


async def list_entries(request: Request) -> Response:
    principal = caller(request)
    after = query_int(request, "after", 0, minimum=0, maximum=10**18)
    limit = query_int(request, "limit", 100, minimum=1, maximum=MAX_PAGE)
    store = service(request).settings.store
    page = store.audit_entries(principal.workspace, after_seq=after, limit=limit + 1)
    more = len(page) > limit
    entries = page[:limit]

    def build() -> dict[str, Any]:
        return {
            "entries": [entry_json(e) for e in entries],
            "count": len(entries),
            "next_after": entries[-1].seq if more else None,
        }

    return await json_answer(request, build, len(entries))
