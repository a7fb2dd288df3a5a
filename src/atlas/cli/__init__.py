"""The ``atlas`` command.

Exit status: 0 success, 1 an operation failed (the cloud, the store, a plugin), 2 the input was
invalid (every problem is listed with its path; bad arguments too), 130 interrupted. No
traceback is shown for an error atlas anticipated. With ``--json``, every command's output is
one JSON document on standard output, and so is any error, a usage error or an unexpected one
included: ``{"error": {"code", "class", "message", "problems"}}``, with the HTTP API's codes.

A spec argument of ``-`` reads the spec from standard input (JSON if it starts with ``{`` or
``[``, YAML otherwise); files are read as bytes by :func:`atlas.spec.load.load_document`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from atlas import __version__
from atlas.cli.audit import add_audit_command
from atlas.cli.costs import add_budget_command, add_costs_command
from atlas.cli.lifecycle import SPEC_HELP, add_lifecycle_commands
from atlas.cli.serve import add_serve_command
from atlas.cli.state import add_state_command
from atlas.cli.usage import EPILOG, Parser, UsageError, command_help
from atlas.cost.billing import Duration, parse_duration
from atlas.error_codes import error_code
from atlas.exceptions import (
    AtlasError,
    CredentialsError,
    DataLossError,
    LockedError,
    OperationInterruptedError,
    PluginError,
    Problem,
    SpecError,
    SpecValidationError,
    StalePlanError,
)
from atlas.plugins import default_plugins

# What a command needs is imported when it runs: `atlas --help` stays cheap (benchmarks/startup.py).
if TYPE_CHECKING:
    from atlas.plugins.manager import Plugins
    from atlas.providers.declarations import CliCommand, ProviderInfo

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The spec argument that means standard input, and how messages name it.
STDIN, STDIN_NAME = "-", "<stdin>"

Command = Callable[[argparse.Namespace, TextIO], int]


def _estimate(args: argparse.Namespace, out: TextIO) -> int:
    from atlas.cli.render import budget_verdict, render_estimate  # noqa: PLC0415
    from atlas.cost.engine import estimate_spec  # noqa: PLC0415
    from atlas.runtime import default_registry, load_spec  # noqa: PLC0415

    if args.compare:
        return _compare(args, out)
    spec = load_spec(args.spec, purpose="estimate")
    result = estimate_spec(spec, default_registry(), duration=args.duration)
    if args.json:
        data = result.to_dict()
        if spec.placement is not None:
            from atlas.portable.report import decision_json  # noqa: PLC0415

            data["placement"] = decision_json(spec.placement)
        if spec.budget is not None:
            data["budget"] = {
                "monthly_limit": float(spec.budget.monthly_limit),
                "currency": spec.budget.currency,
                "verdict": budget_verdict(spec, result),
            }
        json.dump(data, out, indent=2)
        out.write("\n")
    else:
        out.write(render_estimate(spec, result))
        if spec.placement is not None:
            from atlas.cli.compare import placement_line  # noqa: PLC0415

            out.write(placement_line(spec.placement))
    return EXIT_OK


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    """``estimate --compare``: every placement the spec's constraints allow, cheapest first."""
    from atlas.cli.compare import render_comparison  # noqa: PLC0415
    from atlas.portable.report import comparison_json  # noqa: PLC0415
    from atlas.portable.resolve import compare  # noqa: PLC0415
    from atlas.runtime import default_registry  # noqa: PLC0415

    if args.duration is not None:
        raise UsageError(
            "--compare prices the month only; leave out --duration",
            option="--duration",
            prog="atlas estimate",
        )
    comparison = compare(args.spec, registry=default_registry())
    if args.json:
        json.dump(comparison_json(comparison), out, indent=2)
        out.write("\n")
    else:
        name = args.spec.get("name") if isinstance(args.spec, Mapping) else None
        out.write(render_comparison(str(name or "spec"), comparison))
    return EXIT_OK


def _duration(text: str) -> Duration:
    try:
        return parse_duration(text)
    except ValueError as exc:  # argparse names the option and exits 2
        raise argparse.ArgumentTypeError(str(exc)) from None


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    from atlas.runtime import load_spec  # noqa: PLC0415

    spec = load_spec(args.spec, purpose=args.purpose)
    count = len(spec.resources)
    if args.json:
        data = {"valid": True, "purpose": args.purpose, "name": spec.name, "resources": count}
        json.dump(data, out, indent=2)
        out.write("\n")
        return EXIT_OK
    noun = "resource" if count == 1 else "resources"
    out.write(f"{_display(args.file)}: valid for {args.purpose} ({count} {noun})\n")
    return EXIT_OK


def read_spec(arg: str, stdin: BinaryIO | None = None) -> Mapping[str, Any]:
    """The spec document a command is given: a file's, or standard input's for ``-``; read
    once, so that a command which uses it twice (apply plans, then applies) reads one spec."""
    from atlas.spec.converter import describe  # noqa: PLC0415
    from atlas.spec.load import load_document  # noqa: PLC0415

    if arg == STDIN:
        doc = load_document((stdin or sys.stdin.buffer).read(), origin=STDIN_NAME)
    else:
        doc = load_document(Path(arg))
    if not isinstance(doc, Mapping):
        raise SpecValidationError(
            [Problem("", f"a spec must be a mapping (JSON object), not {describe(doc)}")]
        )
    return doc


def _display(arg: str) -> str:
    return STDIN_NAME if arg == STDIN else arg


def _providers(args: argparse.Namespace, out: TextIO) -> int:
    from atlas.cli.render import capabilities, render_providers  # noqa: PLC0415
    from atlas.runtime import default_registry  # noqa: PLC0415

    registry = default_registry()
    if args.json:
        listing = [
            {
                "name": n,
                "title": registry.get(n).title,
                "capabilities": list(capabilities(registry.get(n))),
                "resource_types": sorted(registry.kinds(n)),
            }
            for n in registry.names()
        ]
        json.dump({"providers": listing, "count": len(listing)}, out, indent=2)
        out.write("\n")
    else:
        out.write(render_providers(registry))
    return EXIT_OK


def build_parser(
    plugin_commands: Sequence[CliCommand] = (), providers: Sequence[ProviderInfo] = ()
) -> argparse.ArgumentParser:
    """The parser; ``providers`` (the installed ones) name the variables each command's help
    lists. A usage error raises :class:`~atlas.cli.usage.UsageError`."""
    parser = Parser(
        prog="atlas",
        description="Declarative cloud infrastructure: validate, estimate, apply.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"atlas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "estimate",
        help="what a spec will cost, per resource and in total",
        **command_help("estimate", providers),
    )
    p.add_argument("file", help=SPEC_HELP)
    p.add_argument("--json", action="store_true", help="print the estimate as JSON")
    p.add_argument(
        "--duration",
        type=_duration,
        default=None,
        metavar="D",
        help="also price a run this long (10m, 36h, 45d) under each price's billing rule, "
        "minimums and monthly caps included (default: the monthly estimate only)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="price a portable spec on every installed provider and region its placement "
        "allows: one table, cheapest first, with the offering chosen for each resource",
    )
    p.set_defaults(run=_estimate)

    p = sub.add_parser(
        "validate", help="check a spec and list every problem", **command_help("validate")
    )
    p.add_argument("file", help=SPEC_HELP)
    p.add_argument("--json", action="store_true", help="print the verdict (or the error) as JSON")
    p.add_argument(
        "--for",
        dest="purpose",
        choices=("create", "estimate"),
        default="create",
        help="what to validate for: creating needs more than estimating (default: create)",
    )
    p.set_defaults(run=_validate)

    add_lifecycle_commands(sub, providers)
    add_serve_command(sub, providers)
    add_state_command(sub)
    add_audit_command(sub)
    add_costs_command(sub, tuple(providers))
    add_budget_command(sub, tuple(providers))

    p = sub.add_parser(
        "providers",
        help="the installed providers and their resource types",
        **command_help("providers"),
    )
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(run=_providers)

    # Listed for --help only: main() hands the arguments to the provider's emulator.
    sub.add_parser(
        "emulator",
        help="serve a provider's cloud emulator on loopback (--provider NAME, then its options)",
        add_help=False,
    )

    for command in plugin_commands:
        if command.name in sub.choices:
            raise PluginError(f"two commands are called {command.name!r}")
        # Listed for --help only: main() hands the arguments to the plugin untouched.
        sub.add_parser(command.name, help=command.help, add_help=False)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: BinaryIO | None = None,
) -> int:
    """Run the command line; returns the exit status. ``stdin`` is what a spec of ``-`` is
    read from (default: the process's standard input, as bytes)."""
    out = out or sys.stdout
    err = err or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    source = ""  # the spec file, once known, to head the list of problems
    # Whether an error, too, is printed as JSON: known before the arguments are parsed, so
    # that a usage error is a JSON document for a caller that asked for one.
    as_json = "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
    try:
        plugins = default_plugins()
        commands = plugins.cli_commands()
        parser = build_parser(commands, plugins.providers())
        by_name = {c.name: c for c in commands}
        if argv and (argv[0] in by_name or argv[0] == "emulator"):
            # A plugin's subcommand, or a provider's emulator, parses its own arguments.
            command = by_name.get(argv[0])
            return command.main(argv[1:]) if command else _emulator(argv[1:], plugins)
        args = parser.parse_args(argv)
        args.err = err  # where a command writes what is not its result (progress, notes)
        if getattr(args, "file", None) is not None:
            source = _display(args.file)
            args.spec = read_spec(args.file, stdin)
        run: Command = args.run
        return run(args, out)
    except (UsageError, AtlasError) as exc:
        return _report(exc, source, out if as_json else err, as_json=as_json)
    except KeyboardInterrupt:
        return _interrupted(out if as_json else err, as_json=as_json)
    except BrokenPipeError:  # `atlas estimate x --json | head`: the reader has had enough
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        if not as_json:
            raise  # a bug: its traceback is what a report needs
        # A caller that reads JSON gets JSON, even for what atlas did not anticipate.
        _write_json(out, {"error": error_json(exc)})
        return EXIT_FAILED


_EMULATOR_USAGE = "usage: atlas emulator --provider NAME [OPTIONS]\n"


def _emulator(argv: list[str], plugins: Plugins) -> int:
    """``atlas emulator [--provider NAME] ARGS...``: the provider's emulator parses ARGS. The
    provider may be left out when only one offers an emulator."""
    name: str | None = None
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--provider":
            name = next(args, "")
        elif arg.startswith("--provider="):
            name = arg.partition("=")[2]
        else:
            rest.append(arg)
    offered = plugins.emulated()
    if name is None:
        if len(offered) != 1:
            choices = ", ".join(offered) or "none is installed"
            raise UsageError(
                f"name the emulator to serve with --provider ({choices})",
                option="--provider", prog="atlas emulator", usage=_EMULATOR_USAGE,
            )  # fmt: skip
        name = offered[0]
    from atlas.providers.registry import ProviderRegistry  # noqa: PLC0415

    registry = ProviderRegistry.from_plugins(plugins)
    command = plugins.emulator(registry.get(name).name) if name else None
    if command is None:
        raise UsageError(
            f"provider {name!r} offers no emulator (these do: {', '.join(offered) or 'none'})",
            option="--provider", prog="atlas emulator", usage=_EMULATOR_USAGE,
        )  # fmt: skip
    return command.main(rest)


def _report(exc: AtlasError | UsageError, source: str, stream: TextIO, *, as_json: bool) -> int:
    """Say what went wrong, without a traceback; the exit status says what kind of wrong. A
    usage error is printed as argparse prints it: the usage line, then the message."""
    if as_json:
        _write_json(stream, {"error": error_json(exc)})
    elif isinstance(exc, UsageError):
        stream.write(f"{exc.usage}{exc.prog}: error: {exc.message}\n")
    elif isinstance(exc, SpecValidationError):
        from atlas.cli.render import render_problems  # noqa: PLC0415

        stream.write(render_problems(source, exc))
    else:
        stream.write(f"atlas: {exc}\n")
    return exit_status(exc)


def exit_status(exc: BaseException) -> int:
    """2 for bad input (a spec, the arguments), 130 for an interrupt, 1 for anything else."""
    # A stale plan, and data loss not allowed, are refusals of what was given: plan again, or
    # say --allow-data-loss; nothing was changed.
    if isinstance(exc, SpecError | UsageError | StalePlanError | DataLossError):
        return EXIT_INVALID
    if isinstance(exc, KeyboardInterrupt | OperationInterruptedError):
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def error_json(exc: BaseException) -> dict[str, Any]:
    """An error as ``--json`` prints it: the HTTP API's ``code`` and fields, the class name.

    A library error has its code from :data:`atlas.error_codes.ERROR_CODES`; a usage error
    is ``BAD_REQUEST`` (what the HTTP API answers for a bad parameter), with the argument at
    fault as the problem's path; anything else is ``INTERNAL_ERROR``."""
    if isinstance(exc, UsageError):
        problem = {"path": exc.option, "message": exc.message}
        return {
            "code": "BAD_REQUEST",
            "class": "UsageError",
            "message": exc.message,
            "problems": [problem],
        }
    if not isinstance(exc, AtlasError):
        return {"code": "INTERNAL_ERROR", "class": type(exc).__name__, "message": str(exc)}
    _, code = error_code(exc)
    body: dict[str, Any] = {"code": code, "class": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, SpecError):  # a file that cannot be read is one problem without a path
        found = exc.problems if isinstance(exc, SpecValidationError) else [Problem("", str(exc))]
        body["problems"] = [{"path": p.path, "message": p.message} for p in found]
    if isinstance(exc, LockedError) and exc.operation_id:
        body["operation_id"] = exc.operation_id
    if isinstance(exc, CredentialsError):
        body["sources_tried"] = list(exc.sources_tried)
    if isinstance(exc, StalePlanError):
        body["changed"] = list(exc.changed)
    if isinstance(exc, DataLossError):
        body["resources"] = list(exc.resources)
    return body


def _interrupted(stream: TextIO, *, as_json: bool) -> int:
    if as_json:
        error = {"code": "INTERRUPTED", "class": "KeyboardInterrupt", "message": "interrupted"}
        _write_json(stream, {"error": error})
    else:
        stream.write("atlas: interrupted\n")
    return EXIT_INTERRUPTED


def _write_json(stream: TextIO, data: object) -> None:
    json.dump(data, stream, indent=2)
    stream.write("\n")
