"""``--sandbox``: the whole lifecycle against a plugin's in-process fake of its cloud.

No account, no token, nothing kept: a newcomer sees plan, apply with live progress, the
result, an empty second plan and a destroy that leaves the fake cloud empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from atlas.cli.lifecycle import progress_printer
from atlas.cli.render import render_plan, render_view
from atlas.exceptions import PluginError
from atlas.facade import AsyncAtlas
from atlas.providers.declarations import Sandbox
from atlas.runtime import default_registry, load_spec
from atlas.store import SQLiteStore

__all__ = ["SandboxAtlas", "sandbox_atlas", "tour"]


class SandboxAtlas(AsyncAtlas):
    """An AsyncAtlas whose cloud is a plugin's sandbox and whose store is in memory."""

    def __init__(self, workspace: str, sandbox: Sandbox, provider: str) -> None:
        self.sandbox = sandbox
        super().__init__(
            store=SQLiteStore(":memory:"),
            workspace=workspace,
            providers={provider: sandbox.provider},
        )


def sandbox_atlas(workspace: str, spec_file: Path) -> SandboxAtlas:
    """A sandbox for the provider the spec names."""
    registry = default_registry()
    provider = registry.get(load_spec(spec_file, purpose="estimate").provider).name
    sandbox = registry.sandbox(provider)
    if sandbox is None:
        raise PluginError(f"no installed plugin offers a sandbox for provider {provider!r}")
    return SandboxAtlas(workspace, sandbox, provider)


async def tour(atlas: AsyncAtlas, path: Path, out: TextIO, *, color: bool) -> int:
    """Plan, apply, show, plan again, destroy: the whole lifecycle, narrated."""
    assert isinstance(atlas, SandboxAtlas)
    out.write(f"sandbox: {atlas.sandbox.description} stands in for the cloud; nothing is kept.\n\n")
    # Read from the sandbox's cloud, as apply will: the plan shown is the one carried out,
    # account steps and all.
    plan = await atlas.plan(path, refresh=True)
    out.write(render_plan(plan, color=color) + "\n")
    op = await atlas.apply(path, allow_over_budget=True, on_progress=progress_printer(out))
    out.write(f"\napply: {op.status} ({op.completed_steps}/{op.total_steps} steps)\n")
    if op.status != "completed":
        out.write(f"error: {op.error}\n")
        return 1
    out.write(render_view(atlas.get(op.infrastructure_id)) + "\n")
    again = await atlas.plan(path)
    out.write("plan again: " + render_plan(again, color=color) + "\n")
    done = await atlas.destroy(op.infrastructure_id, on_progress=progress_printer(out))
    empty = atlas.sandbox.is_empty()
    out.write(
        f"\ndestroy: {done.status}; the sandbox holds {'nothing' if empty else 'LEFTOVERS'};"
        f" {atlas.sandbox.requests()} API calls in all.\n"
    )
    return 0 if done.status == "completed" and empty else 1
