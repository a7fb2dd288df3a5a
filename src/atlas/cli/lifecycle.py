"""``atlas plan | apply | destroy | status | reconcile | discover | graph``: the lifecycle
commands."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from atlas.cli.render import (
    graph_json,
    render_discovery,
    render_graph,
    render_operation,
    render_plan,
    render_view,
)
from atlas.cli.usage import UsageError, command_help
from atlas.cost.money import Money
from atlas.exceptions import AtlasError, PlanFileError, PluginError

# The lifecycle (and with it the store and the providers) is imported by the command that runs,
# not by `atlas --help` or `atlas estimate`: see benchmarks/startup.py.
if TYPE_CHECKING:
    from atlas.cli.interrupts import Outcome
    from atlas.facade import AsyncAtlas, InfrastructureView
    from atlas.lifecycle.plan import Plan
    from atlas.model.records import OperationRecord
    from atlas.providers.declarations import ProviderInfo

__all__ = ["add_lifecycle_commands"]

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
SPEC_HELP = "spec file (.yaml, .yml or .json), or - to read it from standard input"
JSON_OPERATION_HELP = (
    "print the finished operation, with its steps, as JSON; progress goes to standard error"
)

#: Builds the AsyncAtlas a command works with (a sandbox, or the configured one).
Opener = Callable[[argparse.Namespace], "AsyncAtlas"]


def add_lifecycle_commands(sub: Any, providers: Sequence[ProviderInfo] = ()) -> None:
    """Register the lifecycle subcommands on an argparse subparsers object; ``providers``
    (the installed ones) name the environment variables each command's help lists."""
    p = sub.add_parser(
        "plan",
        help="what apply would change, with the cost of each change",
        **command_help("plan", providers),
    )
    p.add_argument("file", help=SPEC_HELP)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="read what exists back from the provider first (drift, live prices)",
    )
    p.add_argument(
        "--out",
        metavar="PLANFILE",
        help="save the plan (it reads the cloud, as with --refresh); "
        "atlas apply PLANFILE applies exactly it",
    )
    _common(p)
    p.set_defaults(run=_runner(_plan))

    p = sub.add_parser(
        "apply",
        help="create or change the infrastructure to match the spec",
        **command_help("apply", providers),
    )
    p.add_argument("file", help=SPEC_HELP + "; or a plan saved by atlas plan --out")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the plan and the finished operation, with its steps, as JSON; the plan "
        "shown and the progress go to standard error (needs --yes)",
    )
    p.add_argument(
        "--allow-over-budget",
        action="store_true",
        help="apply even when the plan costs more than the budget",
    )
    p.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="apply even when the plan replaces or deletes a database or volume, "
        "destroying its data (--yes does not imply it)",
    )
    p.add_argument(
        "--no-rollback", action="store_true", help="on failure, keep what this operation created"
    )
    _common(p)
    p.set_defaults(run=_runner(_apply))

    p = sub.add_parser(
        "destroy",
        help="delete every resource of an infrastructure",
        **command_help("destroy", providers),
    )
    p.add_argument("name", help="the infrastructure's name or id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true", help=JSON_OPERATION_HELP + " (needs --yes)")
    p.add_argument(
        "--include-imported",
        action="store_true",
        help="delete imported resources too (by default they are left in place)",
    )
    _common(p)
    p.set_defaults(run=_runner(_destroy))

    p = sub.add_parser(
        "discover",
        help="what exists in the account outside atlas, with its cost; import it",
        **command_help("discover", providers),
    )
    p.add_argument("--provider", help="the provider (default: the one installed)")
    p.add_argument("--region", help="only this region (and the spec's region)")
    p.add_argument("--json", action="store_true", help="print what is found as JSON")
    p.add_argument(
        "--spec-out",
        metavar="FILE",
        help="write a spec that imports everything found (.json, .yaml or .yml)",
    )
    p.add_argument(
        "--name",
        default="imported",
        help="the infrastructure name of that spec (default: imported)",
    )
    _common(p)
    p.set_defaults(run=_runner(_discover))

    p = sub.add_parser(
        "status",
        help="infrastructures, one infrastructure, or one operation",
        **command_help("status", providers),
    )
    p.add_argument("key", nargs="?", help="an infrastructure's name or id, or an operation id")
    p.add_argument("--json", action="store_true", help="print what is shown as JSON")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="read the infrastructure back from the provider and report drift",
    )
    _common(p)
    p.set_defaults(run=_runner(_status))

    p = sub.add_parser(
        "resume",
        help="carry on with an operation a crash or timeout cut short",
        **command_help("resume", providers),
    )
    p.add_argument("operation", help="the operation's id (atlas status NAME lists them)")
    p.add_argument("--json", action="store_true", help=JSON_OPERATION_HELP)
    _common(p)
    p.set_defaults(run=_runner(_resume))

    p = sub.add_parser(
        "reconcile",
        help="find objects atlas made that the store does not know",
        **command_help("reconcile", providers),
    )
    p.add_argument("name", help="the infrastructure's name or id")
    p.add_argument("--delete", action="store_true", help="delete what is found")
    p.add_argument("--json", action="store_true", help="print what is found as JSON")
    _common(p)
    p.set_defaults(run=_runner(_reconcile))
    _add_graph(sub, providers)


def _add_graph(sub: Any, providers: Sequence[ProviderInfo]) -> None:
    """``atlas graph``: offline, no store (so none of :func:`_common`'s options)."""
    p = sub.add_parser(
        "graph",
        help="the dependency graph of a spec (Mermaid or DOT)",
        **command_help("graph", providers),
    )
    p.add_argument("file", help=SPEC_HELP)
    p.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    p.add_argument("--json", action="store_true", help="print the nodes and edges as JSON")
    p.set_defaults(run=_graph)


def _replace_placement(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--replace-placement",
        action="store_true",
        help="provider: any: place the spec again, though its infrastructure exists (kept "
        "where it lives otherwise); a move to another region of its provider replaces every "
        "resource, one to another provider is refused (destroy, then apply)",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", default="default", help="the workspace (default: default)")
    p.add_argument(
        "--state",
        help="the state store: a file, or a postgresql:// URL "
        "(default: $ATLAS_STATE or .atlas/state.db)",
    )
    if p.prog.split()[-1] in ("plan", "apply"):
        _replace_placement(p)
    if p.prog.split()[-1] in ("plan", "apply", "discover"):
        p.add_argument(
            "--sandbox",
            action="store_true",
            help="run against the provider's in-process emulator; nothing is kept "
            "(apply then runs the whole lifecycle: apply, show, destroy)",
        )


def _runner(
    command: Callable[[AsyncAtlas, argparse.Namespace, TextIO], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace, TextIO], int]:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        import asyncio  # noqa: PLC0415 - not for `atlas --help`

        if args.json and getattr(args, "yes", True) is False and not _sandbox(args):
            # A question needs an answer on standard input; a caller reading JSON gives none.
            raise UsageError(
                f"--json asks nothing: give --yes too (atlas {args.command} --yes --json ...)",
                option="--yes",
                prog=f"atlas {args.command}",
            )

        async def main() -> int:
            async with _open(args) as atlas:
                return await command(atlas, args, out)

        return asyncio.run(main())

    return run


def _open(args: argparse.Namespace) -> AsyncAtlas:
    from atlas.facade import AsyncAtlas  # noqa: PLC0415 - only the commands that need it
    from atlas.store import open_store  # noqa: PLC0415

    if _sandbox(args):
        from atlas.cli.sandbox import provider_sandbox, sandbox_atlas  # noqa: PLC0415
        from atlas.lifecycle.planfile import is_plan_document  # noqa: PLC0415

        if is_plan_document(getattr(args, "spec", None)):
            raise PlanFileError(
                f"{args.file} is a saved plan: it is applied with the state store it was made "
                "with (--state), never in a sandbox"
            )

        if args.command == "discover":
            return provider_sandbox(args.workspace, _default_provider(args.provider))
        return sandbox_atlas(args.workspace, args.spec)
    return AsyncAtlas(store=open_store(args.state), workspace=args.workspace)


def _sandbox(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "sandbox", False))


def _err(args: argparse.Namespace) -> TextIO:
    """Where a command writes what is not its result: progress, notes (standard error)."""
    err: TextIO = getattr(args, "err", None) or sys.stderr
    return err


def write_json(out: TextIO, data: object) -> None:
    """One JSON document, the whole of standard output with ``--json``."""
    import json  # noqa: PLC0415

    json.dump(data, out, indent=2)
    out.write("\n")


def _operation_json(
    atlas: AsyncAtlas, op: OperationRecord | None, plan: Plan | None = None
) -> dict[str, Any]:
    """An operation (with its steps) and its infrastructure as the HTTP API answers them;
    for apply, the plan it carried out first."""
    from atlas.wire import infrastructure_json, operation_json, plan_json  # noqa: PLC0415

    data: dict[str, Any] = {} if plan is None else {"plan": plan_json(plan)}
    data["operation"] = None if op is None else operation_json(op, atlas.store.steps(op.id))
    key = op.infrastructure_id if op is not None else plan.infrastructure if plan else None
    infra = atlas.store.get_infrastructure(atlas.workspace, key) if key else None
    data["infrastructure"] = None if infra is None else infrastructure_json(atlas.get(infra.id), op)
    return data


async def _plan(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    from atlas.lifecycle.planfile import is_plan_document, save_plan  # noqa: PLC0415

    if is_plan_document(args.spec):
        raise PlanFileError(
            f"{args.file} is a saved plan, not a spec: atlas apply {args.file} applies it"
        )
    if args.out and args.sandbox:
        raise PlanFileError(
            "--out: a sandbox keeps nothing, so a plan made in it is no plan to save"
        )
    # A plan saved to be applied reads the cloud, as the plan of `atlas apply FILE` does.
    plan = await atlas.plan(
        args.spec,
        refresh=args.refresh or bool(args.out),
        replace_placement=args.replace_placement,
    )
    if args.json:
        from atlas.wire import plan_json  # noqa: PLC0415

        write_json(out, plan_json(plan))
    else:
        out.write(render_plan(plan, color=_color(out)))
    if args.out:
        path = save_plan(plan, args.out)
        # With --json, stdout is the JSON document alone.
        (sys.stderr if args.json else out).write(
            f"Saved the plan to {path}: atlas apply {path} applies exactly it "
            "(refused if the spec or the recorded state changes first)\n"
        )
    return EXIT_OK


async def _apply(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    if args.sandbox:  # never a saved plan (see _open)
        from atlas.cli.sandbox import tour, tour_json  # noqa: PLC0415

        if args.json:
            return await tour_json(atlas, args.spec, out, _err(args))
        return await tour(atlas, args.spec, out, color=_color(out))
    # With --json, standard output is the result alone: what a person watches goes to stderr.
    shown = _err(args) if args.json else out
    saved = _saved_plan(args)
    if saved is not None and args.replace_placement:
        raise PlanFileError(
            f"--replace-placement: {args.file} is a saved plan, applied as it was made; "
            "make it with atlas plan --replace-placement --out instead"
        )
    # The plan shown is the one carried out, step for step: a saved one, or one made now after
    # reading back what exists.
    plan = (
        saved
        if saved is not None
        else await atlas.plan(args.spec, refresh=True, replace_placement=args.replace_placement)
    )
    if saved is not None:
        atlas.check_plan(saved)  # stale: refused before it is shown and confirmed
    shown.write(render_plan(plan, color=_color(shown)))
    if plan.empty:
        if args.json:
            write_json(out, _operation_json(atlas, None, plan))
        return EXIT_OK
    plan.check_data_loss(args.allow_data_loss)  # refused before asking, as apply would
    if not (args.yes or _confirm("Apply these changes?", out)):
        out.write("Nothing changed.\n")
        return EXIT_FAILED
    from atlas.cli.interrupts import run_operation  # noqa: PLC0415 - not for `atlas --help`

    outcome = await run_operation(
        atlas,
        shown,
        lambda progress, stop: atlas.apply(
            plan,
            allow_over_budget=args.allow_over_budget,
            rollback=not args.no_rollback,
            on_progress=progress,
            stop=stop,
            allow_data_loss=args.allow_data_loss,
        ),
        # A saved plan is stale once applied in part: the operation itself is carried on.
        again=_again(args, "apply", args.file)
        if saved is None
        else lambda op: _again(args, "resume", op.id),
        name=plan.infrastructure,
    )
    return _ended(atlas, args, out, outcome, plan)


def _saved_plan(args: argparse.Namespace) -> Plan | None:
    """The plan saved in the file given to ``atlas apply``, when it holds one (told by its
    content, whatever the file is called), read again strictly as the JSON atlas wrote."""
    from atlas.lifecycle.planfile import is_plan_document, load_plan  # noqa: PLC0415
    from atlas.runtime import default_registry  # noqa: PLC0415

    if not is_plan_document(args.spec):
        return None
    source = args.spec if args.file == "-" else Path(args.file)
    return load_plan(source, registry=default_registry(), origin=args.file)


async def _destroy(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    shown = _err(args) if args.json else out  # with --json, stdout is the result alone
    view = atlas.get(args.name)
    if view.infrastructure.status == "destroyed" and not view.resources:
        shown.write(f"{view.infrastructure.name!r} is already destroyed: nothing to do.\n")
        if args.json:
            write_json(out, {"operation": None, "infrastructure": _view_json(view)})
        return EXIT_OK
    keep = [] if args.include_imported else [r.name for r in view.resources if r.imported]
    names = ", ".join(r.name for r in view.resources if r.name not in keep) or "nothing to delete"
    shown.write(f"Destroy {view.infrastructure.name!r}: {names}\n")
    if keep:
        shown.write(
            f"Left in place (imported): {', '.join(keep)}; --include-imported deletes them too\n"
        )
    if not (args.yes or _confirm("Delete all of it?", out)):
        out.write("Nothing changed.\n")
        return EXIT_FAILED
    from atlas.cli.interrupts import run_operation  # noqa: PLC0415 - not for `atlas --help`

    outcome = await run_operation(
        atlas,
        shown,
        lambda progress, stop: atlas.destroy(
            args.name,
            on_progress=progress,
            include_imported=args.include_imported,
            stop=stop,
        ),
        again=_again(args, "destroy", args.name),
        name=view.infrastructure.name,
    )
    return _ended(atlas, args, out, outcome)


async def _status(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    if args.json:
        write_json(out, await _status_json(atlas, args))
        return EXIT_OK
    if args.key is None:
        rows = atlas.list()
        if not rows:
            out.write("No infrastructures yet.\n")
        for infra in rows:
            cost = f"{Money(infra.monthly_cost, infra.currency).rounded().amount:,.2f}"
            out.write(
                f"{infra.name:<24} {infra.status:<12} {cost:>10} {infra.currency}/mo  {infra.id}\n"
            )
        return EXIT_OK
    try:
        op = atlas.operation(args.key)
    except AtlasError:
        drift = await atlas.refresh(args.key) if args.refresh else []
        out.write(render_view(atlas.get(args.key)))
        for op in atlas.operations(args.key)[:5]:
            error = f": {op.error}" if op.error else ""
            out.write(
                f"  operation {op.id} {op.kind} {op.status} "
                f"{op.started_at:%Y-%m-%d %H:%M:%S}{error}\n"
            )
        if args.refresh:
            out.write("No drift: the provider matches the spec.\n" if not drift else "")
        for d in drift:
            out.write(f"drift: {d.resource} {d.kind}: {'; '.join(d.details)}\n")
        return EXIT_OK
    out.write(render_operation(op, atlas.store.steps(op.id)))
    return EXIT_OK


async def _status_json(atlas: AsyncAtlas, args: argparse.Namespace) -> dict[str, Any]:
    """What ``status`` shows, in the HTTP API's shapes: the list of infrastructures, one
    infrastructure with its latest operations (and drift, with ``--refresh``), or one
    operation with its steps."""
    from atlas.wire import drift_json, infrastructure_json, operation_json  # noqa: PLC0415

    if args.key is None:
        rows = [infrastructure_json(atlas.get(i.id)) for i in atlas.list()]
        return {"infrastructures": rows, "count": len(rows)}
    try:
        op = atlas.operation(args.key)
    except AtlasError:
        drift = await atlas.refresh(args.key) if args.refresh else None
        ops = atlas.operations(args.key)[:5]
        return {
            "infrastructure": _view_json(atlas.get(args.key)),
            "operations": [operation_json(o, atlas.store.steps(o.id)) for o in ops],
            "drift": None if drift is None else [drift_json(d) for d in drift],
        }
    return {"operation": operation_json(op, atlas.store.steps(op.id))}


def _view_json(view: InfrastructureView) -> dict[str, Any]:
    from atlas.wire import infrastructure_json  # noqa: PLC0415

    return infrastructure_json(view)


async def _resume(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    from atlas.cli.interrupts import run_operation  # noqa: PLC0415 - not for `atlas --help`

    outcome = await run_operation(
        atlas,
        _err(args) if args.json else out,
        lambda progress, stop: atlas.resume(args.operation, on_progress=progress, stop=stop),
        again=_again(args, "resume", args.operation),
        name=None,
    )
    return _ended(atlas, args, out, outcome)


def _ended(
    atlas: AsyncAtlas,
    args: argparse.Namespace,
    out: TextIO,
    outcome: Outcome,
    plan: Plan | None = None,
) -> int:
    """The operation's record (text, or with ``--json`` the HTTP API's shapes) and the exit
    status; an interrupt has said its piece already (on standard error with ``--json``, where
    standard output gets one error document that still carries the operation)."""
    op = outcome.operation
    if outcome.interrupted or op is None:
        if args.json:
            data = _operation_json(atlas, op, plan)
            message = "interrupted: atlas apply (or resume) again carries the operation on"
            error = {"code": "INTERRUPTED", "class": "Interrupted", "message": message}
            write_json(out, {"error": error, **data})
        return EXIT_INTERRUPTED
    if args.json:
        write_json(out, _operation_json(atlas, op, plan))
    else:
        out.write(render_operation(op, atlas.store.steps(op.id)))
    return EXIT_OK if op.status == "completed" else EXIT_FAILED


def _again(args: argparse.Namespace, command: str, target: str) -> str:
    """The command line that carries an interrupted operation on, options included."""
    words = ["atlas", command, target]
    if args.workspace != "default":
        words += ["--workspace", args.workspace]
    if args.state:
        words += ["--state", args.state]
    return shlex.join(words)


async def _reconcile(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    orphans = await atlas.reconcile(args.name, delete=args.delete)
    if args.json:
        from atlas.wire import state_json  # noqa: PLC0415

        found = [state_json(s) for s in orphans]
        data = {"infrastructure": args.name, "deleted": args.delete, "orphans": found}
        write_json(out, {**data, "count": len(found)})
        return EXIT_OK
    if not orphans:
        out.write("Nothing unknown carries this infrastructure's marks.\n")
    for state in orphans:
        verb = "deleted" if args.delete else "found"
        ids = ", ".join(f"{o.name} ({o.id})" for o in state.objects)
        out.write(f"{verb}: {state.type} {state.name}: {ids}\n")
    return EXIT_OK


async def _discover(atlas: AsyncAtlas, args: argparse.Namespace, out: TextIO) -> int:
    import json  # noqa: PLC0415

    found = await atlas.discover(_default_provider(args.provider), region=args.region)
    if args.json:
        write_json(out, found.to_dict())
    else:
        out.write(render_discovery(found))
    if args.spec_out:
        doc = found.to_spec(args.name, args.region)
        path = Path(args.spec_out)
        if path.suffix in (".yaml", ".yml"):
            import yaml  # noqa: PLC0415

            path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        else:
            path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        count = len(doc["resources"])
        # With --json, stdout is the JSON document alone.
        (_err(args) if args.json else out).write(
            f"wrote {path}: {count} resource{'s' if count != 1 else ''} to import "
            f"(atlas plan {path} shows the import; atlas apply {path} adopts them)\n"
        )
    return EXIT_OK


def _default_provider(name: str | None) -> str:
    """``name``, or the one installed provider that can reach a cloud."""
    if name:
        return name
    from atlas.runtime import default_registry  # noqa: PLC0415

    registry = default_registry()
    live = [n for n in registry.names() if registry.get(n).factory is not None]
    if len(live) == 1:
        return live[0]
    raise PluginError(
        "more than one provider is installed: pass --provider (" + ", ".join(live) + ")"
        if live
        else "no installed provider can reach a cloud"
    )


def _graph(args: argparse.Namespace, out: TextIO) -> int:
    from atlas.runtime import load_spec  # noqa: PLC0415

    spec = load_spec(args.spec, purpose="estimate")
    if args.json:
        write_json(out, graph_json(spec))
    else:
        out.write(render_graph(spec, args.format))
    return EXIT_OK


def _confirm(question: str, out: TextIO) -> bool:
    if not sys.stdin.isatty():
        out.write(f"{question} Refusing without --yes (standard input is not a terminal).\n")
        return False
    out.write(f"{question} [y/N] ")
    out.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _color(out: TextIO) -> bool:
    return hasattr(out, "isatty") and out.isatty()
