"""Every command that reads a spec: bad bytes and keys given twice exit 2 with one clear message
and no traceback (one JSON document on standard output with ``--json``); a UTF-8 BOM is read;
``-`` reads the spec from standard input. On the memory provider."""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atlas.cli import error_json, main
from atlas.exceptions import CredentialsError, LockedError, RecordNotFoundError
from atlas.testing.memory.provider import default_cloud
from tests.atlas.memory_installed import memory_installed

#: 7.30 a month: one small server.
SPEC: dict[str, Any] = {
    "name": "solo",
    "provider": "memory",
    "region": "mem-1",
    "tags": {"owner": "José"},
    "resources": [
        {"type": "server", "name": "web", "specifications": {"size": "small", "image": "debian-12"}}
    ],
}
YAML = """\
name: solo
provider: memory
region: mem-1
tags:
  owner: José
resources:
  - type: server
    name: web
    specifications: {size: small, image: debian-12}
"""
TWICE = YAML.replace("region: mem-1\n", "region: mem-1\nregion: mem-2\n")
TWICE_PROBLEM = "region: duplicate key 'region' at line 4 (first at line 3)"


@pytest.fixture(autouse=True)
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with memory_installed(tmp_path / "site", monkeypatch) as site:
        yield site


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_MEMORY_TOKEN", "mem_" + "2" * 32)  # made up


def run(*argv: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, stdin=io.BytesIO(stdin))
    return code, out.getvalue(), err.getvalue()


def commands(state: Path) -> dict[str, list[str]]:
    """Each command that reads a spec, with what it needs to run (the spec goes last)."""
    return {
        "validate": ["validate"],
        "estimate": ["estimate"],
        "plan": ["plan", "--state", str(state)],
        "apply": ["apply", "--yes", "--state", str(state)],
        "graph": ["graph"],
    }


COMMANDS = ("validate", "estimate", "plan", "apply", "graph")
WITH_JSON = ("validate", "estimate", "plan")


def bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each bad file, with the one message it gets."""
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(YAML.encode("latin-1"))
    offset = YAML.encode("latin-1").index(b"\xe9")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    twice = tmp_path / "twice.yaml"
    twice.write_text(TWICE, encoding="utf-8")
    return {
        "latin-1": (
            latin,
            f"atlas: {latin} is not UTF-8 text: byte 0xe9 at offset {offset} (line 5) cannot "
            "be decoded (invalid continuation byte); save it as UTF-8\n",
        ),
        "binary": (
            binary,
            f"atlas: {binary} is not a text file (a NUL byte at offset 8); "
            "a spec is JSON or YAML text in UTF-8\n",
        ),
        "twice": (twice, f"{twice}: 1 problem\n  {TWICE_PROBLEM}\n"),
    }


@pytest.mark.parametrize("case", ["latin-1", "binary", "twice"])
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_input_exits_2_with_one_message(tmp_path: Path, command: str, case: str) -> None:
    path, message = bad_inputs(tmp_path)[case]
    code, out, err = run(*commands(tmp_path / "state.db")[command], str(path))
    assert (code, out, err) == (2, "", message)
    assert default_cloud().is_empty()


@pytest.mark.parametrize("case", ["latin-1", "binary", "twice"])
@pytest.mark.parametrize("command", WITH_JSON)
def test_bad_input_with_json_is_one_json_document(tmp_path: Path, command: str, case: str) -> None:
    path, message = bad_inputs(tmp_path)[case]
    code, out, err = run(*commands(tmp_path / "state.db")[command], "--json", str(path))
    assert (code, err) == (2, "")
    error = json.loads(out)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    if case == "twice":
        assert error["class"] == "SpecValidationError"
        assert error["problems"] == [
            {"path": "region", "message": TWICE_PROBLEM.removeprefix("region: ")}
        ]
    else:
        assert error["class"] == "SpecError"
        assert error["problems"] == [{"path": "", "message": message.removeprefix("atlas: ")[:-1]}]
        assert error["message"] == error["problems"][0]["message"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_utf_8_byte_order_mark_is_read(tmp_path: Path, command: str, suffix: str) -> None:
    path = tmp_path / f"bom{suffix}"
    text = YAML if suffix == ".yaml" else json.dumps(SPEC, ensure_ascii=False)
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    code, out, err = run(*commands(tmp_path / "state.db")[command], str(path))
    assert (code, err) == (0, ""), out


@pytest.mark.parametrize("text", [YAML, json.dumps(SPEC, indent=2)], ids=["yaml", "json"])
@pytest.mark.parametrize("command", COMMANDS)
def test_a_dash_reads_the_spec_from_standard_input(tmp_path: Path, command: str, text: str) -> None:
    code, out, err = run(*commands(tmp_path / "state.db")[command], "-", stdin=text.encode())
    assert (code, err) == (0, ""), out
    if command == "validate":
        assert out == "<stdin>: valid for create (1 resource)\n"
    if command == "apply":  # read once, used twice (the plan shown, then the apply)
        assert "1/1 steps" in out
        assert not default_cloud().is_empty()


def test_bad_input_on_standard_input_is_named(tmp_path: Path) -> None:
    code, out, err = run("validate", "-", stdin=TWICE.encode())
    assert (code, out, err) == (2, "", f"<stdin>: 1 problem\n  {TWICE_PROBLEM}\n")
    code, _, err = run("estimate", "-", stdin=YAML.encode("latin-1"))
    assert code == 2
    assert err.startswith("atlas: <stdin> is not UTF-8 text: byte 0xe9 at offset")
    code, _, err = run("graph", "-", stdin=b"- just\n- a list\n")
    assert (code, err) == (
        2,
        "<stdin>: 1 problem\n"
        "  a spec must be a mapping (JSON object), not a list (['just', 'a list'])\n",
    )


def test_validate_json_on_success(tmp_path: Path) -> None:
    code, out, _ = run("validate", "--json", "-", stdin=YAML.encode())
    assert code == 0
    assert json.loads(out) == {"valid": True, "purpose": "create", "name": "solo", "resources": 1}


def test_an_invalid_spec_with_json_lists_every_problem(tmp_path: Path) -> None:
    broken = YAML.replace("mem-1", "nowhere").replace("size: small", "size: huge")
    code, out, err = run("validate", "--json", "-", stdin=broken.encode())
    assert (code, err) == (2, "")
    error = json.loads(out)["error"]
    assert (error["code"], error["class"]) == ("VALIDATION_ERROR", "SpecValidationError")
    assert [p["path"] for p in error["problems"]] == ["region", "resources[0].specifications.size"]


def test_a_failure_that_is_not_the_input_exits_1_with_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise CredentialsError("no memory token", sources_tried=["ATLAS_MEMORY_TOKEN"])

    monkeypatch.setattr("atlas.cost.engine.estimate_spec", refuse)
    code, out, err = run("estimate", "--json", "-", stdin=YAML.encode())
    assert (code, err) == (1, "")
    assert json.loads(out) == {
        "error": {
            "code": "CREDENTIALS_ERROR",
            "class": "CredentialsError",
            "message": "no memory token (tried: ATLAS_MEMORY_TOKEN)",
            "sources_tried": ["ATLAS_MEMORY_TOKEN"],
        }
    }
    code, out, err = run("estimate", "-", stdin=YAML.encode())
    assert (code, out, err) == (1, "", "atlas: no memory token (tried: ATLAS_MEMORY_TOKEN)\n")


def test_error_codes_are_the_http_apis() -> None:
    assert error_json(RecordNotFoundError("no infrastructure 'x'"))["code"] == "RESOURCE_NOT_FOUND"
    locked = error_json(LockedError("held", operation_id="op-1"))
    assert (locked["code"], locked["operation_id"]) == ("LOCKED", "op-1")
    assert "problems" not in locked


def test_an_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("atlas.cost.engine.estimate_spec", interrupt)
    assert run("estimate", "-", stdin=YAML.encode()) == (130, "", "atlas: interrupted\n")
    code, out, err = run("estimate", "--json", "-", stdin=YAML.encode())
    assert (code, err) == (130, "")
    assert json.loads(out)["error"]["code"] == "INTERRUPTED"
