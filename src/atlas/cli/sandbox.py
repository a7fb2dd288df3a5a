"""``--sandbox``: the whole lifecycle against a plugin's in-process fake of its cloud.

No account, no token, nothing kept: a newcomer sees plan, apply with live progress, the
result, an empty second plan and a destroy that leaves the fake cloud empty.
"""

from __future__ import annotations

from typing import Any, TextIO

from atlas.cli.lifecycle import write_json
from atlas.cli.progress import ProgressPrinter
from atlas.cli.render import render_plan, render_view
from atlas.facade import AsyncAtlas
from atlas.runtime import SpecSource, load_spec

__all__ = ["provider_sandbox", "sandbox_atlas", "tour", "tour_json"]


def sandbox_atlas(workspace: str, source: SpecSource) -> AsyncAtlas:
    """The public :meth:`AsyncAtlas.in_sandbox` for the provider the spec names.

    The spec is validated for ``create`` here, as ``plan`` and ``apply`` validate it: a spec
    with problems gets every one of them, those only creating asks about included, as
    ``atlas validate`` lists them (validating for ``estimate`` first would hold those back)."""
    return provider_sandbox(workspace, load_spec(source, purpose="create").provider)


def provider_sandbox(workspace: str, provider: str) -> AsyncAtlas:
    """The public :meth:`AsyncAtlas.in_sandbox` for ``provider``."""
    return AsyncAtlas.in_sandbox(provider, workspace=workspace)


async def tour(atlas: AsyncAtlas, source: SpecSource, out: TextIO, *, color: bool) -> int:
    """Plan, apply, show, plan again, destroy: the whole lifecycle, narrated."""
    sandbox = atlas.sandbox
    assert sandbox is not None, "the tour runs in a sandbox (AsyncAtlas.in_sandbox)"
    out.write(f"sandbox: {sandbox.description} stands in for the cloud; nothing is kept.\n\n")
    # Read from the sandbox's cloud, as apply will: the plan shown is the one carried out,
    # account steps and all.
    plan = await atlas.plan(source, refresh=True)
    out.write(render_plan(plan, color=color) + "\n")
    printer = ProgressPrinter.for_stream(out)
    async with printer.live():
        op = await atlas.apply(plan, allow_over_budget=True, on_progress=printer)
    out.write(f"\napply: {op.status} ({op.completed_steps}/{op.total_steps} steps)\n")
    if op.status != "completed":
        out.write(f"error: {op.error}\n")
        return 1
    out.write(render_view(atlas.get(op.infrastructure_id)) + "\n")
    again = await atlas.plan(source)
    out.write("plan again: " + render_plan(again, color=color) + "\n")
    printer = ProgressPrinter.for_stream(out)
    async with printer.live():
        done = await atlas.destroy(op.infrastructure_id, on_progress=printer)
    empty = sandbox.is_empty()
    out.write(
        f"\ndestroy: {done.status}; the sandbox holds {'nothing' if empty else 'LEFTOVERS'};"
        f" {sandbox.requests()} API calls in all.\n"
    )
    return 0 if done.status == "completed" and empty else 1


async def tour_json(atlas: AsyncAtlas, source: SpecSource, out: TextIO, err: TextIO) -> int:
    """The tour for ``--json``: one document with each stage's result, in the shapes
    ``atlas plan --json`` and ``atlas apply --json`` print; progress goes to ``err``."""
    from atlas.wire import infrastructure_json, operation_json, plan_json  # noqa: PLC0415

    sandbox = atlas.sandbox
    assert sandbox is not None, "the tour runs in a sandbox (AsyncAtlas.in_sandbox)"
    plan = await atlas.plan(source, refresh=True)
    printer = ProgressPrinter.for_stream(err)
    async with printer.live():
        op = await atlas.apply(source, allow_over_budget=True, on_progress=printer)
    data: dict[str, Any] = {
        "sandbox": sandbox.description,
        "plan": plan_json(plan),
        "operation": operation_json(op, atlas.store.steps(op.id)),
        "infrastructure": infrastructure_json(atlas.get(op.infrastructure_id)),
    }
    ok = op.status == "completed"
    if ok:
        again = await atlas.plan(source)
        printer = ProgressPrinter.for_stream(err)
        async with printer.live():
            done = await atlas.destroy(op.infrastructure_id, on_progress=printer)
        data["plan_again"] = plan_json(again)
        data["destroy"] = operation_json(done, atlas.store.steps(done.id))
        ok = done.status == "completed" and sandbox.is_empty()
    data["sandbox_empty"] = sandbox.is_empty()
    data["requests"] = sandbox.requests()
    write_json(out, data)
    return 0 if ok else 1
