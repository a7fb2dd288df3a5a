"""The audit trail's chain: how an entry is sealed, and how the whole log is checked.

Every entry carries the hash of the one before it (``prev_hash``; the first, :data:`GENESIS`)
and its own ``hash``: SHA-256 over the canonical JSON of all its other fields, ``seq`` and
``prev_hash`` included (keys sorted, no spaces, times as ISO 8601 UTC with microseconds).
``seq`` numbers entries 1, 2, 3, ... across every workspace, with no gap: the store hands out
the next number in the transaction that appends, one append at a time. So an entry edited by
hand no longer matches its hash; one recomputed after the edit no longer matches the next
entry's link; one deleted leaves a gap. (The last entries removed together, with nothing
appended since, leave no trace in the log itself: :class:`Verification` gives the last
``seq`` and ``hash``, for an operator who wants to note them elsewhere.)

Nothing credential-like is ever sealed: :func:`redact` replaces it in the summary first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import attrs

from atlas.model.records import AuditEntry
from atlas.store.codec import dump_time
from atlas.wire import iso

__all__ = [
    "GENESIS",
    "REDACTED",
    "BadEntry",
    "Verification",
    "entry_hash",
    "entry_json",
    "redact",
    "seal",
    "verify",
    "verify_store",
]

#: The ``prev_hash`` of the first entry.
GENESIS = "0" * 64
REDACTED = "[redacted]"
#: Keys whose values are never kept, whatever they hold.
_SECRET_KEY = re.compile(
    r"(?i)token|secret|passw|authori[sz]ation|api[_-]?key|credential|private[_-]?key|cookie"
)
#: Values that look like a credential wherever they appear: a JWT, an atlas API key, a
#: bearer header.
_SECRET_VALUE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*|atlas_[\w-]{20,}|(?i:bearer\s+\S+)")


def redact(value: Any) -> Any:
    """``value`` with every credential-like key's value and credential-like text replaced."""
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    return value


def _canonical(entry: AuditEntry) -> bytes:
    doc: dict[str, Any] = attrs.asdict(entry, recurse=False)
    del doc["hash"]
    doc["time"] = dump_time(entry.time)
    doc["summary"] = dict(entry.summary)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def entry_hash(entry: AuditEntry) -> str:
    """The hash ``entry`` must carry (its own ``hash`` field aside)."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def seal(entry: AuditEntry, *, seq: int, prev_hash: str) -> AuditEntry:
    """``entry`` in its place: numbered, linked, redacted and hashed."""
    placed = attrs.evolve(
        entry,
        seq=seq,
        prev_hash=prev_hash,
        hash="",
        summary=redact(dict(entry.summary)),
        remote_address=_clean(entry.remote_address),
        request_id=_clean(entry.request_id),
    )
    return attrs.evolve(placed, hash=entry_hash(placed))


def _clean(text: str | None) -> str | None:
    return None if text is None else _SECRET_VALUE.sub(REDACTED, text)


@attrs.frozen
class BadEntry:
    """The first entry that breaks the chain, and why."""

    seq: int
    id: str
    why: str


@attrs.frozen
class Verification:
    """What walking the chain found: how many entries, the last one, the first bad one."""

    count: int
    last_seq: int
    last_hash: str
    bad: BadEntry | None = None

    @property
    def ok(self) -> bool:
        return self.bad is None


def verify(entries: Iterable[AuditEntry]) -> Verification:
    """Walk ``entries`` (the whole log, in ``seq`` order); stop at the first bad one."""
    count, last_seq, last_hash = 0, 0, GENESIS
    for entry in entries:
        why = _fault(entry, last_seq, last_hash)
        if why is not None:
            return Verification(count, last_seq, last_hash, BadEntry(entry.seq, entry.id, why))
        count, last_seq, last_hash = count + 1, entry.seq, entry.hash
    return Verification(count, last_seq, last_hash)


def _fault(entry: AuditEntry, last_seq: int, last_hash: str) -> str | None:
    if entry.seq != last_seq + 1:
        missing = (
            f"{last_seq + 1}" if entry.seq == last_seq + 2 else f"{last_seq + 1}-{entry.seq - 1}"
        )
        return f"entries missing before it (seq {missing}): removed from the log"
    if entry.prev_hash != last_hash:
        return "broken link: its prev_hash is not the hash of the entry before it"
    if entry.hash != entry_hash(entry):
        return "hash mismatch: the entry was changed after it was written"
    return None


class _AuditLog(Protocol):
    def audit_entries(
        self, workspace: str | None, *, after_seq: int = 0, limit: int = 100
    ) -> list[AuditEntry]: ...


def verify_store(store: _AuditLog, *, page: int = 500) -> Verification:
    """:func:`verify` of every entry ``store`` holds, read a page at a time."""
    return verify(_all_entries(store, page))


def _all_entries(store: _AuditLog, page: int) -> Iterator[AuditEntry]:
    after = 0
    while True:
        batch = store.audit_entries(None, after_seq=after, limit=page)
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].seq


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    """An entry as the API and ``atlas audit --json`` show it: every field, as stored (the
    time in the API's form, ISO 8601 UTC with a ``Z``)."""
    return {
        "seq": entry.seq,
        "id": entry.id,
        "time": iso(entry.time),
        "workspace": entry.workspace,
        "actor": entry.actor,
        "auth_method": entry.auth_method,
        "remote_address": entry.remote_address,
        "request_id": entry.request_id,
        "action": entry.action,
        "infrastructure_id": entry.infrastructure_id,
        "infrastructure_name": entry.infrastructure_name,
        "operation_id": entry.operation_id,
        "outcome": entry.outcome,
        "status_code": entry.status_code,
        "error_code": entry.error_code,
        "summary": dict(entry.summary),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }
