"""``atlas audit``: the audit trail the HTTP API writes to the state store, and whether it is
whole (``--verify``: every entry matches its hash and links to the one before; the first that
does not is named, and the exit status is 1)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from atlas.cli.usage import UsageError, command_help

# The store is imported by the command that runs (inside it), not by `atlas --help`.
if TYPE_CHECKING:
    from atlas.model.records import AuditEntry
    from atlas.store.audit import Verification

__all__ = ["add_audit_command"]

EXIT_OK, EXIT_BROKEN = 0, 1
STATE_HELP = (
    "the state store: a file, or a postgresql:// URL (default: $ATLAS_STATE or .atlas/state.db)"
)


def add_audit_command(sub: Any) -> None:
    """Register ``atlas audit`` on an argparse subparsers object."""
    p = sub.add_parser(
        "audit", help="the audit trail, and whether it is whole", **command_help("audit")
    )
    p.add_argument("--workspace", metavar="W", help="only this workspace's entries")
    p.add_argument("--after", type=int, default=0, metavar="SEQ", help="entries after this seq")
    p.add_argument(
        "--limit", type=int, default=100, metavar="N", help="at most N entries (default 100)"
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="walk the whole trail, every workspace's: exit 0 if it is whole, 1 naming the "
        "first entry edited or removed",
    )
    p.add_argument("--json", action="store_true", help="print the entries or the verdict as JSON")
    p.add_argument("--state", help=STATE_HELP)
    p.set_defaults(run=_audit)


def _audit(args: argparse.Namespace, out: TextIO) -> int:
    from atlas.exceptions import StateError  # noqa: PLC0415
    from atlas.store import open_store  # noqa: PLC0415 - not for `atlas --help`
    from atlas.store.audit import entry_json, verify_store  # noqa: PLC0415
    from atlas.store.opening import chosen_location, is_postgres_url  # noqa: PLC0415

    if args.verify and args.workspace is not None:
        raise UsageError(
            "--verify walks the whole trail (one chain for every workspace): leave out --workspace",
            option="--workspace",
        )
    location = chosen_location(args.state)
    if not is_postgres_url(location) and location != ":memory:":
        from pathlib import Path  # noqa: PLC0415

        if not Path(location).is_file():  # a typo must not verify an empty store made for it
            raise StateError(f"there is no state store at {location}")
    with open_store(location) as store:
        if args.verify:
            return _report(args, out, verify_store(store))
        entries = store.audit_entries(args.workspace, after_seq=args.after, limit=args.limit)
    if args.json:
        json.dump({"entries": [entry_json(e) for e in entries], "count": len(entries)}, out)
        out.write("\n")
    else:
        out.writelines(_line(e) for e in entries)
    return EXIT_OK


def _report(args: argparse.Namespace, out: TextIO, result: Verification) -> int:
    bad = result.bad
    if args.json:
        doc: dict[str, Any] = {
            "verified": result.ok,
            "count": result.count,
            "last_seq": result.last_seq,
            "last_hash": result.last_hash,
            "bad": None if bad is None else {"seq": bad.seq, "id": bad.id, "why": bad.why},
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
    elif bad is None:
        out.write(
            f"audit trail whole: {result.count} entries, last seq {result.last_seq} "
            f"(hash {result.last_hash})\n"
        )
    else:
        out.write(
            f"audit trail broken at seq {bad.seq} (entry {bad.id}): {bad.why}; "
            f"the {result.count} entries before it are whole\n"
        )
    return EXIT_OK if bad is None else EXIT_BROKEN


def _line(entry: AuditEntry) -> str:
    when = entry.time.strftime("%Y-%m-%d %H:%M:%S")
    who = f"{entry.workspace or '-'}/{entry.actor or '-'}"
    what = entry.infrastructure_name or entry.infrastructure_id or "-"
    status = "" if entry.status_code is None else f" {entry.status_code}"
    code = f" {entry.error_code}" if entry.error_code else ""
    return f"{entry.seq:>6}  {when}  {who}  {entry.action}  {what}  {entry.outcome}{status}{code}\n"
