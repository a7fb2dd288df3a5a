"""``atlas state export FILE`` and ``atlas state import FILE``: a backup of the state store, and
its restore into an empty store of either backend (how an installation moves from SQLite to
PostgreSQL: docs/state.md). The format is :mod:`atlas.store.backup`'s."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from atlas.cli.usage import command_help

# The store is imported by the command that runs (inside it), not by `atlas --help`.

__all__ = ["add_state_command"]

EXIT_OK, EXIT_INVALID = 0, 2
STDIO = "-"
STATE_HELP = (
    "the state store: a file, or a postgresql:// URL (default: $ATLAS_STATE or .atlas/state.db)"
)


def add_state_command(sub: Any) -> None:
    """Register ``atlas state`` and its subcommands on an argparse subparsers object."""
    p = sub.add_parser(
        "state", help="back up the state store, and restore a backup", **command_help("state")
    )
    commands = p.add_subparsers(dest="state_command", required=True, metavar="COMMAND")

    e = commands.add_parser(
        "export",
        help="write everything the store holds to a file",
        **command_help("state export"),
    )
    e.add_argument("path", metavar="FILE", help="the file to write, or - for standard output")
    e.add_argument("--json", action="store_true", help="print what was exported as JSON")
    e.add_argument("--state", help=STATE_HELP)
    e.set_defaults(run=_export)

    i = commands.add_parser(
        "import",
        help="restore an export into an empty store",
        **command_help("state import"),
    )
    i.add_argument(
        "path", metavar="FILE", help="a file atlas state export wrote, or - for standard input"
    )
    i.add_argument("--json", action="store_true", help="print what was imported as JSON")
    i.add_argument("--state", help=STATE_HELP)
    i.set_defaults(run=_import)


def _export(args: argparse.Namespace, out: TextIO) -> int:
    import json  # noqa: PLC0415

    from atlas.exceptions import StateError  # noqa: PLC0415
    from atlas.store import open_store  # noqa: PLC0415 - not for `atlas --help`
    from atlas.store.backup import counts, export_document, write_export  # noqa: PLC0415
    from atlas.store.opening import chosen_location, is_postgres_url  # noqa: PLC0415
    from atlas.store.schema import SCHEMA_VERSION  # noqa: PLC0415

    location = chosen_location(args.state)
    if not is_postgres_url(location) and location != ":memory:":
        from pathlib import Path  # noqa: PLC0415

        if not Path(location).is_file():  # a typo must not export an empty store made for it
            raise StateError(f"there is no state store at {location}")
    with open_store(location) as store:
        snapshot = store.snapshot()
    document = export_document(snapshot, schema_version=SCHEMA_VERSION)
    to_stdout = args.path == STDIO
    if to_stdout:
        json.dump(document, out, indent=2, allow_nan=False)
        out.write("\n")
    else:
        write_export(document, args.path)
    _summary(args, out, "exported", counts(snapshot), location, to_stdout=to_stdout)
    return EXIT_OK


def _import(args: argparse.Namespace, out: TextIO) -> int:
    from atlas.exceptions import SpecError, SpecValidationError  # noqa: PLC0415
    from atlas.store import open_store  # noqa: PLC0415 - not for `atlas --help`
    from atlas.store.backup import counts, read_export  # noqa: PLC0415
    from atlas.store.opening import chosen_location  # noqa: PLC0415

    name = "<stdin>" if args.path == STDIO else args.path
    try:
        if args.path == STDIO:
            data = sys.stdin.buffer.read()
        else:
            with open(args.path, "rb") as f:
                data = f.read()
    except OSError as exc:
        raise SpecError(f"cannot read {name}: {exc.strerror or exc}") from exc
    try:
        snapshot = read_export(data, origin=name)
    except SpecValidationError as exc:
        if args.json:
            raise  # one JSON error document, with every problem and its path
        from atlas.cli.render import render_problems  # noqa: PLC0415

        _err(args).write(render_problems(name, exc))
        return EXIT_INVALID
    location = chosen_location(args.state)
    with open_store(location) as store:
        store.restore(snapshot)
    _summary(args, out, "imported", counts(snapshot), location, to_stdout=False)
    return EXIT_OK


def _summary(
    args: argparse.Namespace,
    out: TextIO,
    done: str,
    found: Mapping[str, int],
    location: str,
    *,
    to_stdout: bool,
) -> None:
    """One line of what was done (to standard error when the export itself is the output), or
    with ``--json`` its figures."""
    from atlas.store.opening import shown_location  # noqa: PLC0415

    store = shown_location(location)
    if args.json and not to_stdout:
        import json  # noqa: PLC0415

        json.dump({done: dict(found), "file": args.path, "store": store}, out, indent=2)
        out.write("\n")
        return
    records = ", ".join(
        f"{n} {(kind if n != 1 else _one(kind)).replace('_', ' ')}"
        for kind, n in found.items()
        if kind != "workspaces"
    )
    spaces = found["workspaces"]
    direction = f"from {store} to {args.path}" if done == "exported" else f"into {store}"
    line = f"{done} {records} ({spaces} workspace{'s' if spaces != 1 else ''}) {direction}\n"
    (_err(args) if to_stdout else out).write(line)


def _one(kind: str) -> str:
    return kind.removesuffix("ies") + "y" if kind.endswith("ies") else kind.removesuffix("s")


def _err(args: argparse.Namespace) -> TextIO:
    err: TextIO = getattr(args, "err", None) or sys.stderr
    return err
