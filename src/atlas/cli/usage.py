"""What ``atlas`` and each of its subcommands say about themselves, and usage errors a ``--json``
caller can read.

Each subcommand's ``--help`` says what it does, shows examples, and lists the environment
variables it reads: the core's own (``ATLAS_STATE``, the webhook's), and, for the commands that
reach a cloud, each installed provider's, as its plugin declares them (the credential's
variables in :attr:`ProviderInfo.credentials <atlas.providers.ProviderInfo.credentials>`, the
others in :attr:`ProviderInfo.environment <atlas.providers.ProviderInfo.environment>`): no
provider is named here. The texts are built when the parser is, from what the plugins already
loaded say, so that ``atlas --help`` stays cheap.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

if TYPE_CHECKING:
    from atlas.providers.declarations import ProviderInfo

__all__ = ["COMMANDS", "EPILOG", "Parser", "UsageError", "command_help"]

WIDTH = 79


class UsageError(Exception):
    """The arguments make no sense: argparse's error, or options that cannot go together
    (``--json`` without ``--yes`` for a command that would ask). Exit status 2.

    ``option`` names the argument at fault when it is known; ``usage`` is the command's usage
    line, which the text form prints first, as argparse does."""

    def __init__(self, message: str, *, option: str = "", prog: str = "atlas", usage: str = ""):
        super().__init__(message)
        self.message = message
        self.option = option
        self.prog = prog
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """argparse's parser, except that a usage error is raised for :func:`atlas.cli.main` to
    report (as text, or as JSON with ``--json``) instead of printed and exited on. Subparsers
    are of the same class."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(
            message, option=_argument(message), prog=self.prog, usage=self.format_usage()
        )


#: argparse's messages that name the argument at fault: ``argument --format: invalid
#: choice ...``, ``the following arguments are required: file``, ``unrecognized arguments:
#: --bogus``.
_NAMED = re.compile(
    r"argument (?P<one>[^:]+): |(?:the following arguments are required|unrecognized "
    r"arguments): (?P<first>[^ ,]+)"
)


def _argument(message: str) -> str:
    """The argument an argparse message is about (the first, if it names several), or ``""``."""
    found = _NAMED.match(message)
    return (found.group("one") or found.group("first")) if found else ""


@attrs.frozen
class Help:
    """A subcommand's ``--help`` text beyond its options."""

    description: str
    examples: tuple[str, ...]
    #: Whether it opens the state store (``ATLAS_STATE``).
    store: bool = False
    #: Whether it reaches the cloud (and reads the providers' tokens and settings): ``None``
    #: never, ``""`` always, else when (said after the variable's meaning).
    cloud: str | None = None
    #: Whether it has a caller's JWT to ask the Context Manager for a token with.
    jwt: bool = False
    #: Whether it may deliver events (the webhook's variables).
    events: bool = False
    #: Variables of its own, with what each sets.
    own: tuple[tuple[str, str], ...] = ()


OFFLINE = " Offline: it reads no token and no state."

COMMANDS: dict[str, Help] = {
    "estimate": Help(
        "What a spec will cost: each resource's line items with their monthly and hourly "
        "price, the total, and the budget's verdict; with --duration, also what a run that long "
        "is billed. Prices come from the installed price catalogs." + OFFLINE,
        (
            "atlas estimate examples/stack.yaml",
            "atlas estimate examples/stack.yaml --duration 36h --json",
        ),
    ),
    "validate": Help(
        "Check a spec and list every problem, each with its path "
        "(resources[0].specifications.size). --for create, the default, also asks for what "
        "only creating needs (plan and apply ask the same); --for estimate only for what prices "
        "depend on." + OFFLINE,
        (
            "atlas validate examples/stack.yaml",
            "atlas validate --for estimate examples/stack.yaml --json",
        ),
    ),
    "plan": Help(
        "What apply would change, without changing anything: one line per change with its "
        "reason and its change in monthly cost, then the totals and the budget's verdict. A "
        "spec with problems gets every problem validate reports.",
        (
            "atlas plan examples/stack.yaml",
            "atlas plan examples/stack.yaml --json",
            "atlas plan --sandbox examples/stack.yaml",
        ),
        store=True,
        cloud="read only with --refresh, or when the spec imports; never with --sandbox",
    ),
    "apply": Help(
        "Create or change the infrastructure to match the spec: show the plan, ask, carry it "
        "out with a line per step, and print the operation with each step's provider ids. After "
        "a crash or an interrupt, running it again resumes. With --json nothing is asked (give "
        "--yes), the output is the plan and the finished operation with its steps, and what a "
        "person watches (the plan, the progress) goes to standard error.",
        (
            "atlas apply examples/stack.yaml",
            "atlas apply --yes --json examples/stack.yaml",
            "atlas apply --sandbox examples/stack.yaml",
        ),
        store=True,
        cloud="not read with --sandbox",
        events=True,
    ),
    "destroy": Help(
        "Delete every resource of an infrastructure, dependents first, each delete verified; "
        "imported resources are left in place unless --include-imported. With --json nothing is "
        "asked (give --yes) and the output is the finished operation with its steps.",
        ("atlas destroy shop", "atlas destroy --yes --json shop"),
        store=True,
        cloud="",
        events=True,
    ),
    "discover": Help(
        "List what exists in the provider's account that no atlas infrastructure manages, "
        "with its monthly cost; --spec-out writes a spec that imports it (atlas apply of that "
        "spec adopts it).",
        (
            "atlas discover",
            "atlas discover --json --spec-out found.yaml",
            "atlas discover --sandbox --provider NAME",
        ),
        store=True,
        cloud="not read with --sandbox",
    ),
    "status": Help(
        "Without an argument, the workspace's infrastructures, newest first. With an "
        "infrastructure's name or id, its resources with their objects and its latest "
        "operations (--refresh reads them back from the provider and reports drift). With an "
        "operation's id, that operation's steps.",
        ("atlas status", "atlas status shop --json", "atlas status OPERATION_ID --json"),
        store=True,
        cloud="read only with --refresh",
    ),
    "resume": Help(
        "Carry on with an operation a crash, a timeout or an interrupt cut short: a new "
        "operation toward the same spec takes over and adopts what the old one made. "
        "atlas status NAME lists an infrastructure's operations with their ids.",
        ("atlas resume OPERATION_ID", "atlas resume OPERATION_ID --json"),
        store=True,
        cloud="",
        events=True,
    ),
    "reconcile": Help(
        "Find the objects at the provider that carry an infrastructure's ownership marks but "
        "that the state does not know (what a crash can leave); --delete deletes them. Nothing "
        "unmarked is touched.",
        ("atlas reconcile shop", "atlas reconcile shop --delete --json"),
        store=True,
        cloud="",
    ),
    "graph": Help(
        "The dependency graph of a spec, an edge from each resource to what it refers to: "
        "Mermaid (the default) or DOT, or with --json its nodes and edges." + OFFLINE,
        (
            "atlas graph examples/stack.yaml",
            "atlas graph --format dot examples/stack.yaml | dot -Tsvg > stack.svg",
            "atlas graph --json examples/stack.yaml",
        ),
    ),
    "serve": Help(
        "Serve the HTTP API on uvicorn (needs the server extra). Without ATLAS_JWT_SECRET or "
        "ATLAS_API_KEYS_FILE it serves one workspace, 'default', to loopback callers only; "
        "--sandbox serves against the providers' in-process emulators.",
        (
            "atlas serve --sandbox",
            "ATLAS_JWT_SECRET=... atlas serve --host 0.0.0.0 --port 8080",
            "atlas serve --new-api-key team-a",
        ),
        store=True,
        cloud="read for each request that needs the cloud",
        jwt=True,
        events=True,
        own=(
            ("HOST", "the address to listen on when --host is not given (default 127.0.0.1)"),
            ("PORT", "the port when --port is not given (default 3003)"),
            ("LOG_LEVEL", "when --log-level is not given (default info)"),
            ("ATLAS_JWT_SECRET", "accept bearer JWTs signed with it (HS256; 32 bytes at least)"),
            ("ATLAS_JWT_AUDIENCE", "a JWT must name this audience (aud)"),
            ("ATLAS_JWT_MAX_LIFETIME", "the furthest ahead a JWT's exp may be (default 24h)"),
            (
                "ATLAS_JWT_ALLOW_DEFAULT_WORKSPACE",
                "true: a JWT may name the default workspace (default: refused)",
            ),
            ("ATLAS_API_KEYS_FILE", "a JSON file of API keys, stored hashed"),
            ("ATLAS_CORS_ORIGINS", "comma-separated origins allowed by CORS (default: none)"),
            ("ATLAS_MAX_BODY_BYTES", "the largest request body accepted (default 1 MiB)"),
            ("ATLAS_MAX_HEADER_BYTES", "request line and headers, at most (default 16384)"),
            ("ATLAS_HEADER_TIMEOUT", "seconds a connection has to send its headers (default 10)"),
            ("ATLAS_KEEPALIVE_TIMEOUT", "seconds an idle connection is kept open (default 5)"),
            ("ATLAS_MAX_CONNECTIONS", "connections served at once; more get 503 (default 1000)"),
            ("ATLAS_MAX_RESOURCES", "the most resources one spec may list (default 50000)"),
            ("ATLAS_CPU_THREADS", "worker threads for large specs and answers (default 2)"),
            ("ATLAS_CPU_PROCESSES", "worker processes for large estimates, plans (default 2)"),
            ("ATLAS_REQUEST_DEADLINE", "seconds a request's heavy work may take (default 20)"),
            (
                "ATLAS_CLAIM_INTERVAL",
                "seconds between looks for operations whose holder is gone (default: lease / 4)",
            ),
            ("ATLAS_METRICS_TOKEN", "the bearer token /metrics asks for (16 characters at least)"),
            ("ATLAS_DEGRADE_AFTER", "failed cloud calls in a row that degrade a provider (10)"),
            ("ATLAS_DEGRADE_WINDOW", "seconds those failures must fall within (default 60)"),
            ("ATLAS_DEGRADE_COOLDOWN", "seconds before a degraded provider is probed (default 30)"),
        ),
    ),
    "state": Help(
        "Back up the state store and restore a backup: atlas state export writes everything "
        "the store holds (every workspace's infrastructures, resources, operations, steps, "
        "events, budgets and thresholds crossed, and the audit trail) to one JSON file; "
        "atlas state import restores such a file into an empty store, of either backend. "
        "Together they move an installation from SQLite to PostgreSQL (docs/state.md). "
        "Offline: neither reads a token or reaches a cloud.",
        (
            "atlas state export backup.json",
            "atlas state import --state postgresql://atlas@db/atlas backup.json",
        ),
    ),
    "state export": Help(
        "Write everything the state store holds, in every workspace, to FILE (- for standard "
        "output) as one versioned JSON document, read in one transaction while others may "
        "write. The file is replaced whole, readable by its owner only; it holds no secret "
        "(the store holds none). An operation still running is exported as it stands: export "
        "when none runs, or carry it on with atlas resume after the import.",
        (
            "atlas state export backup.json",
            "atlas state export --state postgresql://atlas@db/atlas - | gzip > backup.json.gz",
        ),
        store=True,
    ),
    "state import": Help(
        "Restore FILE, written by atlas state export (- for standard input), into an empty "
        "state store: every record as it was, ids and times included, in one transaction. A "
        "store that holds anything is refused, and so is a file with a problem (each one is "
        "listed with its path); then nothing is written.",
        (
            "atlas state import --state postgresql://atlas@db/atlas backup.json",
            "gunzip -c backup.json.gz | atlas state import --state new.db -",
        ),
        store=True,
    ),
    "costs": Help(
        "What the workspace's infrastructures (or the one named) have cost so far this month "
        "(or --month), per resource, from the journal (when each object was made, resized "
        "and deleted) and each price's billing rule, with a forecast to the end of the month "
        "for what still exists. On a terminal, a small chart per day. --actual also asks each "
        "provider for what its own bill says (the whole account's charges), where it reports "
        "them.",
        (
            "atlas costs",
            "atlas costs shop --month 2026-11",
            "atlas costs --json --actual",
        ),
        store=True,
        cloud="only with --actual",
    ),
    "budget": Help(
        "The workspace's own budget: show it, set it (a monthly amount; thresholds, percentages "
        "of it, default 50,80,100; --forecast to count the forecast to the month's end too), "
        "clear it, or check it now with every infrastructure's spec budget: each threshold "
        "crossed this month queues one cost.threshold_crossed event (once a month), delivered "
        "to the plugins' hook and the webhook. atlas serve checks on its own.",
        (
            "atlas budget set 10",
            "atlas budget set 250 --thresholds 50,90,100 --forecast",
            "atlas budget check --json",
        ),
        store=True,
        events=True,
    ),
    "audit": Help(
        "The audit trail atlas serve keeps in the state store: one entry for every request "
        "that changes something (refused ones too) and one when an operation it started ends, "
        "each naming who, when, from where, what and the outcome, oldest first. Every entry "
        "is chained to the one before by its SHA-256; --verify walks the whole trail and exits "
        "1 naming the first entry edited or removed by hand. Offline: it reads no token.",
        (
            "atlas audit --workspace ws-1",
            "atlas audit --verify",
            "atlas audit --state postgresql://atlas@db/atlas --after 200 --json",
        ),
        store=True,
    ),
    "providers": Help(
        "The installed providers: each one's name, title and resource types." + OFFLINE,
        ("atlas providers", "atlas providers --json"),
    ),
}

_STATE = (
    "ATLAS_STATE",
    "the state store when --state is not given: a file, or a postgresql:// URL (default "
    ".atlas/state.db)",
)
_LEASE = (
    "ATLAS_LEASE_SECONDS",
    "seconds a lock's holder on another host is trusted without a heartbeat (default 120)",
)
_POOL = ("ATLAS_STATE_POOL_SIZE", "connections a PostgreSQL store holds open (default 4)")
_WEBHOOK = (
    "ATLAS_WEBHOOK_URL, ATLAS_WEBHOOK_SECRET",
    "when both are set, every event is POSTed to the URL, signed with the secret",
)

#: ``atlas --help``'s epilog: what the exit status says, and what every command reads.
EPILOG = """\
exit status:
  0    success (an empty plan too)
  1    the cloud or the operation failed, or it was refused: a provider error, no
       credential, over budget, locked, not confirmed, an unknown infrastructure
  2    bad input: a spec with problems, a file that cannot be read, bad arguments,
       --json without --yes where a question would be asked, a stale plan file
  130  interrupted (Ctrl-C); atlas apply again, or atlas resume, carries on

With --json, a command's output is one JSON document on standard output, and so
is an error, with the HTTP API's codes:
  {"error": {"code", "class", "message", "problems": [{"path", "message"}]}}

environment (every command):
  ATLAS_DISABLE_PLUGIN_AUTOLOAD  when set, no plugin is loaded from entry points
  ATLAS_DISABLE_PLUGINS          comma-separated names of plugins not to load

atlas COMMAND --help says what each command does and what else it reads.
"""


def command_help(name: str, providers: Sequence[ProviderInfo] = ()) -> dict[str, Any]:
    """``add_parser`` keywords for subcommand ``name``: its description, and an epilog with
    its examples and the environment it reads (``providers``: the installed ones)."""
    info = COMMANDS[name]
    lines = ["examples:", *(f"  {e}" for e in info.examples)]
    env = _environment(info, providers)
    if env:
        lines += ["", "environment:"]
        for names, meaning in env:
            lines.append(f"  {names}")
            lines += textwrap.wrap(
                meaning, WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6
            )
    return {
        "description": textwrap.fill(info.description, WIDTH),
        "epilog": "\n".join(lines),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def _environment(info: Help, providers: Sequence[ProviderInfo]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = list(info.own)
    if info.store:
        found.extend((_STATE, _LEASE, _POOL))
    if info.cloud is not None:
        when = f"; {info.cloud}" if info.cloud else ""
        asked = (
            "asked with the caller's JWT"
            if info.jwt
            else "asked only with a caller's JWT (atlas serve has one; the command line has not)"
        )
        for p in providers:
            if p.factory is None:  # it cannot reach a cloud
                continue
            if p.credentials is not None and p.credentials.env_names:
                found.append(
                    (
                        ", ".join(p.credentials.env_names),
                        f"the {p.credentials.what}: the first of these that is set, else the "
                        "Context Manager at $CONTEXT_MANAGER_URL (default "
                        f"http://localhost:3002), {asked}{when}",
                    )
                )
            found.extend((k, f"{p.title}: {v}{when}") for k, v in p.environment.items())
    if info.events:
        found.append(_WEBHOOK)
    return found
