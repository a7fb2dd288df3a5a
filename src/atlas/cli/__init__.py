"""The ``atlas`` command.

Exit status: 0 success, 1 an operation failed, 2 the input was invalid (every problem is listed
with its path). No traceback is shown for an error atlas anticipated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from atlas import __version__
from atlas.cli.render import (
    budget_verdict,
    render_estimate,
    render_problems,
    render_providers,
)
from atlas.exceptions import AtlasError, SpecError, SpecValidationError
from atlas.runtime import default_registry, estimate, load_spec

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2

Command = Callable[[argparse.Namespace, TextIO], int]


def _estimate(args: argparse.Namespace, out: TextIO) -> int:
    spec = load_spec(Path(args.file), purpose="estimate")
    result = estimate(spec)
    if args.json:
        data = result.to_dict()
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
    return EXIT_OK


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    spec = load_spec(Path(args.file), purpose=args.purpose)
    count = len(spec.resources)
    noun = "resource" if count == 1 else "resources"
    out.write(f"{args.file}: valid for {args.purpose} ({count} {noun})\n")
    return EXIT_OK


def _providers(args: argparse.Namespace, out: TextIO) -> int:
    registry = default_registry()
    if args.json:
        listing = [
            {"name": n, "title": registry.get(n).title, "resource_types": sorted(registry.kinds(n))}
            for n in registry.names()
        ]
        json.dump({"providers": listing, "count": len(listing)}, out, indent=2)
        out.write("\n")
    else:
        out.write(render_providers(registry))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atlas", description="Declarative cloud infrastructure: validate, estimate, apply."
    )
    parser.add_argument("--version", action="version", version=f"atlas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("estimate", help="what a spec will cost, per resource and in total")
    p.add_argument("file", help="spec file (.yaml, .yml or .json)")
    p.add_argument("--json", action="store_true", help="print the estimate as JSON")
    p.set_defaults(run=_estimate)

    p = sub.add_parser("validate", help="check a spec and list every problem")
    p.add_argument("file", help="spec file (.yaml, .yml or .json)")
    p.add_argument(
        "--for",
        dest="purpose",
        choices=("create", "estimate"),
        default="create",
        help="what to validate for: creating needs more than estimating (default: create)",
    )
    p.set_defaults(run=_validate)

    p = sub.add_parser("providers", help="the installed providers and their resource types")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(run=_providers)
    return parser


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    run: Command = args.run
    try:
        return run(args, out)
    except SpecValidationError as exc:
        err.write(render_problems(getattr(args, "file", ""), exc))
        return EXIT_INVALID
    except SpecError as exc:
        err.write(f"atlas: {exc}\n")
        return EXIT_INVALID
    except AtlasError as exc:
        err.write(f"atlas: {exc}\n")
        return EXIT_FAILED
    except BrokenPipeError:  # `atlas estimate x --json | head`: the reader has had enough
        sys.stderr.close()
        return EXIT_OK
