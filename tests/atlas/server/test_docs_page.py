"""docs/http-api.md says what the code does: every route, every error code with its status,
every option of ``atlas serve``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from atlas import exceptions as ex
from atlas.cli.serve import add_serve_command
from atlas.server.errors import STATUSES, from_exception
from atlas.server.openapi import OPERATIONS, Op

PAGE = (Path(__file__).resolve().parents[3] / "docs" / "http-api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_route_is_in_the_table(op: Op) -> None:
    assert f"| `{op.method} {op.path}` | {op.status} " in PAGE


@pytest.mark.parametrize("code", sorted(STATUSES))
def test_every_error_code_is_in_the_table_with_its_status(code: str) -> None:
    assert f"| `{code}` | {STATUSES[code]} |" in PAGE


def test_codes_have_one_status_each() -> None:
    assert from_exception(ex.LockedError("x")).status == STATUSES["LOCKED"]
    assert len(re.findall(r"^\| `[A-Z_]+` \| \d{3} \|", PAGE, re.M)) == len(STATUSES)


def test_every_serve_option_is_documented() -> None:
    sub = argparse.ArgumentParser(prog="atlas").add_subparsers()
    add_serve_command(sub)
    serve = sub.choices["serve"]
    options = [o for a in serve._actions for o in a.option_strings if o.startswith("--")]
    assert len(options) > 5
    for option in options:
        if option != "--help":
            assert f"`{option}" in PAGE, option
