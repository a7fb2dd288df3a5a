"""A command line an agent can drive: with ``--json`` every command's result, and every error,
is one JSON document on standard output, and the exit status says what happened (0 ok, 2 bad
input, 1 the cloud or the operation failed, 130 interrupted). On the memory provider."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from atlas.cli import main
from atlas.model.cloud import Owner
from atlas.store import open_store
from atlas.testing.memory import NewObject
from atlas.testing.memory.handlers import MemoryHandler
from atlas.testing.memory.provider import default_cloud
from tests.atlas.memory_installed import memory_installed
from tests.atlas.test_cli_input import SPEC, YAML

#: A server and a disk: 8.30 a month.
TWO = {
    **SPEC,
    "resources": [
        *SPEC["resources"],
        {"type": "disk", "name": "data", "specifications": {"size_gb": 10}},
    ],
}


@pytest.fixture(autouse=True)
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with memory_installed(tmp_path / "site", monkeypatch) as site:
        yield site


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_MEMORY_TOKEN", "mem_" + "2" * 32)  # made up


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state.db")


def run(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, stdin=io.BytesIO(stdin))
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str, stdin: bytes = b"") -> tuple[int, Any]:
    """Run with ``--json``: standard output must be exactly one JSON document."""
    code, out, _ = run(*argv, "--json", stdin=stdin)
    return code, json.loads(out)


def squat_disk(name: str) -> str:
    """A disk made outside atlas under the name atlas gives disk ``name`` of ``solo``: every
    create of it is refused (disk names are unique on the memory cloud). Its id."""
    owned = MemoryHandler.base_name(Owner("default", "solo"), name)
    made = asyncio.run(
        default_cloud().create("mem_x", "disk", [NewObject(owned, attributes={"size_gb": 1})])
    )
    return made[0].id


def test_the_lifecycle_in_json_from_apply_to_destroy(state: str) -> None:
    spec = json.dumps(SPEC).encode()
    code, applied = run_json("apply", "--yes", "--state", state, "-", stdin=spec)
    assert code == 0
    assert set(applied) == {"plan", "operation", "infrastructure"}
    assert [c["action"] for c in applied["plan"]["changes"]] == ["create"]
    op = applied["operation"]
    assert (op["kind"], op["status"], op["completed_steps"]) == ("apply", "completed", 1)
    [step] = op["steps"]
    assert (step["resource"], step["status"]) == ("web", "done")
    assert step["provider_ids"]
    infra = applied["infrastructure"]
    assert (infra["name"], infra["status"], infra["estimated_monthly_cost"]) == (
        "solo",
        "active",
        7.3,
    )
    assert infra["resources"][0]["provider_ids"] == step["provider_ids"]

    code, listed = run_json("status", "--state", state)
    assert code == 0
    assert listed["count"] == 1
    assert listed["infrastructures"][0]["id"] == infra["id"]

    code, shown = run_json("status", "solo", "--refresh", "--state", state)
    assert code == 0
    assert shown["infrastructure"]["id"] == infra["id"]
    assert [o["id"] for o in shown["operations"]] == [op["id"]]
    assert shown["drift"] == []
    code, shown = run_json("status", "solo", "--state", state)
    assert shown["drift"] is None  # not asked for

    code, again = run_json("status", op["id"], "--state", state)
    assert code == 0
    assert again == {"operation": op}

    code, found = run_json("reconcile", "solo", "--state", state)
    assert (code, found) == (
        0,
        {"infrastructure": "solo", "deleted": False, "orphans": [], "count": 0},
    )

    code, nothing = run_json("apply", "--yes", "--state", state, "-", stdin=spec)
    assert code == 0
    assert nothing["plan"]["changes"] == []
    assert nothing["operation"] is None
    assert nothing["infrastructure"]["id"] == infra["id"]

    code, gone = run_json("destroy", "solo", "--yes", "--state", state)
    assert code == 0
    assert (gone["operation"]["kind"], gone["operation"]["status"]) == ("destroy", "completed")
    assert gone["infrastructure"]["status"] == "destroyed"
    assert default_cloud().is_empty()
    code, twice = run_json("destroy", "solo", "--yes", "--state", state)
    assert code == 0
    assert twice["operation"] is None
    assert twice["infrastructure"]["status"] == "destroyed"


def test_with_json_progress_goes_to_standard_error(state: str) -> None:
    code, out, err = run("apply", "--yes", "--json", "--state", state, "-", stdin=YAML.encode())
    assert code == 0
    assert json.loads(out)["operation"]["status"] == "completed"  # nothing else on stdout
    assert "Plan for 'solo'" in err
    assert "create server web: done" in err


def test_a_failed_operation_exits_1_with_the_operation_and_resume_carries_on(state: str) -> None:
    squatter = squat_disk("data")
    spec = json.dumps(TWO).encode()
    code, failed = run_json("apply", "--yes", "--state", state, "-", stdin=spec)
    assert code == 1
    op = failed["operation"]
    assert op["status"] == "failed"
    assert op["error"]
    assert {s["resource"]: s["status"] for s in op["steps"]}["data"] == "failed"

    code, again = run_json("resume", op["id"], "--state", state)
    assert code == 1  # the name is still taken
    assert again["operation"]["status"] == "failed"

    default_cloud().faults.delete_outside("disk", squatter)
    code, resumed = run_json("resume", op["id"], "--state", state)
    assert code == 0
    assert resumed["operation"]["status"] == "completed"
    assert resumed["infrastructure"]["status"] == "active"


def test_reconcile_json_lists_what_carries_the_marks(state: str) -> None:
    run("apply", "--yes", "--state", state, "-", stdin=YAML.encode())
    code, out, _ = run("status", "solo", "--json", "--state", state)
    [web] = json.loads(out)["infrastructure"]["resources"]
    # The store forgets the server: the object at the provider still carries the marks.
    store = open_store(state)
    infra = store.get_infrastructure("default", "solo")
    assert infra is not None
    record = next(r for r in store.list_resources(infra.id) if r.name == "web")
    store.save_resource(attrs.evolve(record, objects=()))
    store.close()
    code, found = run_json("reconcile", "solo", "--state", state)
    assert code == 0
    assert found["count"] == 1
    [orphan] = found["orphans"]
    assert (orphan["type"], orphan["name"]) == ("server", "web")
    assert [o["id"] for o in orphan["objects"]] == web["provider_ids"]
    code, deleted = run_json("reconcile", "solo", "--delete", "--state", state)
    assert (code, deleted["deleted"], deleted["count"]) == (0, True, 1)
    assert default_cloud().is_empty()


def test_discover_and_graph_and_providers_json(state: str) -> None:
    code, found = run_json("discover", "--provider", "memory", "--state", state)
    assert (code, found["provider"], found["resources"]) == (0, "memory", [])
    code, graph = run_json("graph", "-", stdin=json.dumps(TWO).encode())
    assert code == 0
    assert graph["nodes"] == [
        {"name": "web", "type": "server"},
        {"name": "data", "type": "disk"},
    ]
    assert graph["edges"] == []
    code, listed = run_json("providers")
    assert "memory" in [p["name"] for p in listed["providers"]]


def test_json_without_yes_is_refused_before_anything_happens(state: str) -> None:
    for argv in (["apply", "-"], ["destroy", "solo"]):
        code, out, err = run(*argv, "--json", "--state", state, stdin=YAML.encode())
        assert (code, err) == (2, "")
        error = json.loads(out)["error"]
        assert (error["code"], error["class"]) == ("BAD_REQUEST", "UsageError")
        assert error["problems"] == [{"path": "--yes", "message": error["message"]}]
        assert "--yes" in error["message"]
    assert default_cloud().is_empty()
    assert not Path(state).exists()  # the store was not even opened
    # Text mode keeps its question (and refuses it without a terminal).
    code, out, _ = run("apply", "--state", state, "-", stdin=YAML.encode())
    assert code == 1
    assert "Refusing without --yes" in out


@pytest.mark.parametrize(
    ("argv", "path"),
    [
        (["plan"], "file"),
        (["status", "--bogus"], "--bogus"),
        (["graph", "--format", "png", "x.yaml"], "--format"),
        (["estimate", "x.yaml", "--duration", "soon"], "--duration"),
        (["nope"], "COMMAND"),
    ],
    ids=str,
)
def test_a_usage_error_with_json_is_a_json_document(argv: list[str], path: str) -> None:
    code, out, err = run(*argv, "--json")
    assert (code, err) == (2, "")
    error = json.loads(out)["error"]
    assert (error["code"], error["class"]) == ("BAD_REQUEST", "UsageError")
    assert error["problems"] == [{"path": path, "message": error["message"]}]


def test_a_usage_error_in_text_is_argparse_s() -> None:
    code, out, err = run("graph", "x.yaml", "--format", "png")
    assert (code, out) == (2, "")
    usage, message = err.splitlines()[0], err.splitlines()[-1]
    assert usage.startswith("usage: atlas graph [-h]")
    assert message.startswith("atlas graph: error: argument --format: invalid choice: 'png'")


def test_an_unexpected_error_with_json_is_a_json_document(
    state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the cloud SDK fell over")

    monkeypatch.setattr("atlas.facade.AsyncAtlas.plan", broken)
    code, out, err = run("plan", "--json", "--state", state, "-", stdin=YAML.encode())
    assert (code, err) == (1, "")
    assert json.loads(out) == {
        "error": {
            "code": "INTERNAL_ERROR",
            "class": "RuntimeError",
            "message": "the cloud SDK fell over",
        }
    }


def test_a_cloud_error_with_json_is_its_code(state: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATLAS_MEMORY_TOKEN")
    code, out, err = run("discover", "--provider", "memory", "--json", "--state", state)
    assert (code, err) == (1, "")
    error = json.loads(out)["error"]
    assert (error["code"], error["class"]) == ("CREDENTIALS_ERROR", "CredentialsError")
    assert "env ATLAS_MEMORY_TOKEN: not set" in error["sources_tried"]


def _interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


#: Each command, what it runs with, and the exit status of each outcome (issue 11's table:
#: 0 ok, 2 bad input, 1 the cloud or the operation failed, 130 interrupted).
EXITS: list[tuple[str, list[str], bool]] = [
    ("validate", ["validate"], True),
    ("estimate", ["estimate"], True),
    ("plan", ["plan"], True),
    ("apply", ["apply", "--yes"], True),
    ("graph", ["graph"], True),
    ("status", ["status"], False),
    ("destroy", ["destroy", "--yes", "solo"], False),
    ("reconcile", ["reconcile", "solo"], False),
    ("resume", ["resume", "no-such-operation"], False),
    ("discover", ["discover", "--provider", "memory"], False),
    ("providers", ["providers"], False),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("name", "argv", "reads_spec"), EXITS, ids=[e[0] for e in EXITS])
def test_each_command_s_exit_status(
    name: str,
    argv: list[str],
    reads_spec: bool,
    as_json: bool,
    state: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flags = ["--json"] if as_json else []
    store = ["--state", state] if name not in ("validate", "estimate", "graph", "providers") else []

    def status(*extra: str, stdin: str = YAML) -> int:
        code, out, _ = run(*argv, *flags, *store, *extra, stdin=stdin.encode())
        if as_json:
            json.loads(out)  # always one document, whatever happened
        return code

    # Bad arguments: 2.
    assert status("--no-such-option") == 2
    if reads_spec:
        assert status("-") == 0
        assert status("-", stdin=YAML.replace("mem-1", "nowhere")) == 2  # a spec with problems
        assert status("-", stdin="[1") == 2  # not even YAML
    if name in ("destroy", "reconcile", "resume"):
        assert status() == 1  # nothing of that name: refused
        run("apply", "--yes", "--state", state, "-", stdin=YAML.encode())
    if name == "status":
        assert status("nope") == 1
    if name == "resume":
        return  # an operation id that does not exist is all it has here
    if not reads_spec:
        assert status() == 0
    # Interrupted: 130. (The offline commands' first step is the registry; the others' is
    # opening the AsyncAtlas.)
    monkeypatch.setattr("atlas.runtime.default_registry", _interrupt)
    monkeypatch.setattr("atlas.facade.AsyncAtlas.__aenter__", _interrupt)
    assert status(*(["-"] if reads_spec else [])) == 130
