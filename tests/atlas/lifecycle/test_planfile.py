"""A saved plan reads back as the very plan saved; a file altered, truncated, foreign or from a
newer atlas is a clear PlanFileError; no credential is ever written into one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from atlas import PlanFileError
from atlas.facade import AsyncAtlas
from atlas.lifecycle.basis import digest
from atlas.lifecycle.plan import Plan, make_plan
from atlas.lifecycle.planfile import (
    FORMAT,
    MARKER,
    is_plan_document,
    load_plan,
    plan_document,
    save_plan,
)
from atlas.providers import AccountStep, ProviderRegistry
from atlas.testing.memory import ManualClock, MemoryCloud, NewObject
from tests.atlas.lifecycle.conftest import TOKEN, stack


async def a_full_plan(atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock) -> Plan:
    """A plan with every part a file holds: updates, a data-losing replacement, an import
    with what it read, an account step, records in its basis."""
    await atlas_.apply(stack())
    [outside] = await cloud.create(
        TOKEN, "disk", [NewObject("scratch", {}, {"region": "mem-1", "size_gb": 7})]
    )
    clock.advance(10)
    doc = stack()
    doc["resources"][2]["specifications"]["size"] = "large"
    doc["resources"][3]["specifications"]["size_gb"] = 50
    doc["resources"].append(
        {"type": "disk", "name": "scratch", "import": outside.id, "specifications": {"size_gb": 7}}
    )
    plan = await atlas_.plan(doc, refresh=True)
    step = AccountStep("network", "default-mem-1", "free; never destroyed", "mem-1", {"x": [1]})
    return attrs.evolve(plan, account=(step,))


async def test_a_saved_plan_loads_as_the_plan_saved(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock, tmp_path: Path
) -> None:
    plan = await a_full_plan(atlas_, cloud, clock)
    assert {c.action for c in plan.changes} == {"update", "replace", "import"}
    assert plan.imports
    assert plan.basis is not None
    assert plan.basis.resources
    path = save_plan(plan, tmp_path / "p")
    assert load_plan(path, registry=atlas_.registry) == plan
    doc = json.loads(path.read_text(encoding="ascii"))
    assert doc[MARKER] == FORMAT
    assert {"spec", "basis", "changes", "cost_before", "cost_after", "account_steps"} <= set(doc)
    assert doc["imports"]["scratch"]["objects"][0]["id"].startswith("dsk-")
    replace = next(c for c in doc["changes"] if c["action"] == "replace")
    assert replace["destroys_data"] is True
    assert replace["monthly_before"] == {"amount": "10.00", "currency": "USD"}  # exact
    # Read from its bytes, or from the document, it is the same plan.
    assert load_plan(path.read_bytes(), registry=atlas_.registry) == plan
    assert load_plan(doc, registry=atlas_.registry) == plan
    assert is_plan_document(doc)
    assert not is_plan_document(stack())


async def test_a_plan_without_a_basis_cannot_be_saved(
    registry: ProviderRegistry, tmp_path: Path, atlas_: AsyncAtlas
) -> None:
    bare = make_plan(atlas_.validate(stack()), [], registry)
    with pytest.raises(PlanFileError, match=r"only a plan made by AsyncAtlas\.plan"):
        save_plan(bare, tmp_path / "p")
    assert not (tmp_path / "p").exists()


async def test_a_plan_file_that_cannot_be_written_says_where(
    atlas_: AsyncAtlas, tmp_path: Path
) -> None:
    plan = await atlas_.plan(stack())
    with pytest.raises(PlanFileError, match=f"cannot write plan file {tmp_path}/no/p: "):
        save_plan(plan, tmp_path / "no" / "p")
    (tmp_path / "dir").mkdir()
    with pytest.raises(PlanFileError, match="cannot write plan file"):
        save_plan(plan, tmp_path / "dir")  # a directory is not replaced
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # none left
    saved = save_plan(plan, tmp_path / "p")
    assert saved.stat().st_mode & 0o777 == 0o600


@pytest.fixture
async def saved(atlas_: AsyncAtlas, tmp_path: Path) -> dict[str, Any]:
    return plan_document(await atlas_.plan(stack()))


def resealed(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its digest made to match again (a well-formed file, bad inside)."""
    body = {k: v for k, v in doc.items() if k != "digest"}
    return {**body, "digest": digest(body)}


def test_an_altered_plan_is_refused(saved: dict[str, Any], registry: ProviderRegistry) -> None:
    saved["changes"][0]["action"] = "delete"
    with pytest.raises(PlanFileError, match="altered after atlas wrote it"):
        load_plan(saved, registry=registry, origin="p")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("changes"), "p is corrupt: changes: missing"),
        (lambda d: d["changes"][0].update(action="nuke"), "changes[0].action: 'nuke' is not one"),
        (lambda d: d["changes"][1].update(resume="no"), "changes[1].resume: expected true or"),
        (
            lambda d: d["cost_after"].update(amount="lots"),
            "cost_after: not an amount of money",
        ),
        (lambda d: d["basis"].update(made_at="soon"), "basis.made_at: not a date and time"),
        (lambda d: d["spec"].update(region=7), "the spec it holds no longer validates"),
    ],
)
def test_a_corrupt_plan_names_the_part(
    saved: dict[str, Any], registry: ProviderRegistry, edit: Any, message: str
) -> None:
    edit(saved)
    with pytest.raises(PlanFileError) as caught:
        load_plan(resealed(saved), registry=registry, origin="p")
    assert message in str(caught.value)


def test_a_plan_from_a_newer_atlas_is_refused(
    saved: dict[str, Any], registry: ProviderRegistry
) -> None:
    saved[MARKER] = FORMAT + 1
    with pytest.raises(PlanFileError, match=f"newer atlas \\(plan format {FORMAT + 1};"):
        load_plan(saved, registry=registry, origin="p")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"atlas_plan": 1, "changes": [', "not valid JSON (line 1"),
        (b"\x00\x01binary", "not a text file"),
        (b"\xe9t\xe9", "not UTF-8 text"),
        (b'{"name": "shop", "resources": []}', "is not an atlas plan file (it has no"),
        (b'{"atlas_plan": 1, "atlas_plan": 2}', "duplicate key"),
        (b'{"atlas_plan": "one"}', "atlas_plan must be a format version"),
    ],
)
def test_what_is_not_a_plan_file_says_so(
    tmp_path: Path, registry: ProviderRegistry, content: bytes, message: str
) -> None:
    path = tmp_path / "p"
    path.write_bytes(content)
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, registry=registry)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    with pytest.raises(PlanFileError, match="cannot read plan file"):
        load_plan(tmp_path / "missing", registry=registry)


async def test_no_credential_reaches_the_file(
    atlas_: AsyncAtlas, cloud: MemoryCloud, clock: ManualClock, tmp_path: Path
) -> None:
    plan = await a_full_plan(atlas_, cloud, clock)  # it read the cloud with the token
    text = save_plan(plan, tmp_path / "p").read_text(encoding="ascii")
    assert TOKEN not in text
    assert "token" not in text.lower()
