"""The audit trail of the HTTP API: one entry for every mutating request, and one when an
operation a request started ends.

A route that changes something is marked ``audited`` in :data:`atlas.server.openapi.OPERATIONS`;
the router notes that on the request (:func:`mark`), the route notes what it worked on
(:func:`note`: infrastructure, operation, the plan's changes by action, the cost change), and
:class:`AuditMiddleware` appends the entry the moment the answer's status is known, before the
answer goes out: a caller who has the answer can read its entry. Refused requests leave one
too (401, 403, 404, 409, 422, ...), naming whoever the credentials named, or nobody.

When the operation the request started ends, :func:`operation_entry` records its outcome
(``completed`` or ``failed``) with its cost change, under the same request id and caller.

The entry never holds a credential: the caller is named by the JWT's ``user_id`` claim or the
API key's name, never by the token or key, and the store redacts anything credential-like
(:func:`atlas.store.audit.redact`). A failure to append is logged, never answered: the change
it would describe has already been made.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atlas.exceptions import AtlasError
from atlas.model.records import AuditEntry, OperationRecord, StepRecord
from atlas.server.auth import Principal
from atlas.store.base import StateStore

__all__ = ["AuditMiddleware", "mark", "note", "operation_entry", "plan_summary"]

logger = logging.getLogger("atlas.server")

#: The keys of ``scope["state"]`` this module reads and writes.
_ACTION = "audit_action"
_DETAILS = "audit"
ERROR_CODE = "error_code"


def mark(scope: Scope, action: str) -> None:
    """The request is one the trail records, as ``action`` (``"POST /api/v1/infrastructure"``)."""
    scope["state"][_ACTION] = action


def note(scope: Scope, **details: Any) -> None:
    """What the request worked on: ``infrastructure_id``, ``infrastructure_name``,
    ``operation_id``, ``summary``."""
    scope["state"].setdefault(_DETAILS, {}).update(details)


def plan_summary(operation: OperationRecord, steps: Sequence[StepRecord]) -> dict[str, Any]:
    """The operation's planned changes by action, and its cost change with its currency."""
    changes: dict[str, int] = {}
    for step in steps:
        changes[step.action] = changes.get(step.action, 0) + 1
    return {
        "kind": operation.kind,
        "changes": dict(sorted(changes.items())),
        "cost_change": str(operation.cost_change),
        "currency": operation.currency,
    }


def _caller(principal: Principal | None) -> tuple[str | None, str | None, str]:
    """Workspace, actor and how they authenticated."""
    if principal is None:
        return None, None, "refused"
    return principal.workspace, principal.user, principal.method


class AuditMiddleware:
    """See the module docstring; inside :class:`~atlas.server.middleware.ServiceMiddleware`
    (which gives the request id)."""

    def __init__(
        self, app: ASGIApp, *, store: StateStore, clock: Callable[[], dt.datetime]
    ) -> None:
        self.app = app
        self.store = store
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        written = False

        async def send_after_audit(message: Message) -> None:
            nonlocal written
            if message["type"] == "http.response.start" and not written:
                written = True
                self._record(scope, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, send_after_audit)
        except BaseException:
            if not written:  # answered 500 by the layer above
                written = True
                self._record(scope, 500, error_code="INTERNAL_ERROR")
            raise

    def _record(self, scope: Scope, status: int, *, error_code: str | None = None) -> None:
        state: dict[str, Any] = scope.get("state", {})
        action = state.get(_ACTION)
        if action is None:
            return
        details: Mapping[str, Any] = state.get(_DETAILS, {})
        path_id = scope.get("path_params", {}).get("id")
        workspace, actor, method = _caller(state.get("principal"))
        client = scope.get("client")
        entry = AuditEntry(
            id=uuid.uuid4().hex,
            time=self.clock(),
            workspace=workspace,
            actor=actor,
            auth_method=method,
            remote_address=str(client[0]) if client else None,
            request_id=state.get("request_id"),
            action=str(action),
            infrastructure_id=details.get("infrastructure_id", path_id),
            infrastructure_name=details.get("infrastructure_name"),
            operation_id=details.get("operation_id"),
            outcome="ok" if status < 400 else "refused",
            status_code=status,
            error_code=error_code or (state.get(ERROR_CODE) if status >= 400 else None),
            summary=details.get("summary", {}),
        )
        append(self.store, entry)


def operation_entry(
    principal: Principal,
    operation: OperationRecord,
    *,
    request_id: str | None,
    infrastructure_name: str | None,
    clock: Callable[[], dt.datetime],
) -> AuditEntry:
    """The entry for the end of ``operation``, started by ``principal``'s request."""
    workspace, actor, method = _caller(principal)
    return AuditEntry(
        id=uuid.uuid4().hex,
        time=clock(),
        workspace=workspace,
        actor=actor,
        auth_method=method,
        remote_address=None,
        request_id=request_id,
        action=f"operation.{operation.kind}",
        infrastructure_id=operation.infrastructure_id,
        infrastructure_name=infrastructure_name,
        operation_id=operation.id,
        outcome=operation.status,
        status_code=None,
        error_code=None,
        summary={
            "kind": operation.kind,
            "steps": operation.total_steps,
            "completed_steps": operation.completed_steps,
            "cost_change": str(operation.cost_change),
            "currency": operation.currency,
        },
    )


def append(store: StateStore, entry: AuditEntry) -> None:
    """Append ``entry``; a store that cannot take it now is logged (see the module docstring)."""
    try:
        store.append_audit(entry)
    except AtlasError as exc:
        logger.error("could not append to the audit trail (%s): %s", entry.action, exc)
    except Exception:  # a bug must not turn an answer given into a 500
        logger.exception("could not append to the audit trail (%s)", entry.action)
