"""The pytest plugin of the conformance kit (registered under the ``pytest11`` entry point)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("atlas", "atlas provider conformance kit")
    group.addoption(
        "--atlas-provider",
        action="store",
        default=None,
        metavar="NAME",
        help="run atlas's conformance suite against the sandbox of provider NAME",
    )
