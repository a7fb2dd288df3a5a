"""Fixtures shared by the DigitalOcean provider's tests: the OpenAPI contract checker."""

from __future__ import annotations

import pytest

from tests.atlas_digitalocean import contract


@pytest.fixture(scope="session")
def openapi_spec() -> contract.LoadedSpec:
    """DigitalOcean's OpenAPI document, parsed once per session; skips when it is absent."""
    path = contract.spec_path()
    if not path.is_file():
        pytest.skip(
            f"DigitalOcean OpenAPI document not found at {path}; "
            f"set {contract.SPEC_ENV} to its location to run contract tests"
        )
    return contract.load_spec()


@pytest.fixture
def contract_checker(openapi_spec: contract.LoadedSpec) -> contract.ContractChecker:
    """Validates requests and responses against the document. Hook it into an emulator
    (``emulator.on_exchange.append(contract_checker)``) or call ``check(request, response)``
    yourself, then ``contract_checker.assert_clean()``."""
    return contract.ContractChecker(openapi_spec)
