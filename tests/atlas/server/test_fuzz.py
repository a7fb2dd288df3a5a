"""The OpenAPI document fuzzed against the app (schemathesis): no 5xx, and every response
conforms to the document: status, headers, content type and body.

Requests are generated from the document itself, with a valid JWT; the cloud is the memory
cloud on a fake clock, so a spec that validates really is applied in the background.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance, use_after_free
from starlette.applications import Starlette

from atlas.credentials import Secret
from atlas.server import AuthConfig, Settings, create_app
from atlas.store import SQLiteStore
from atlas.testing import memory
from atlas.testing.memory import Latencies, ManualClock, MemoryCloud
from tests.atlas.server.conftest import SECRET, TOKEN, cloud_provider, token

#: Per operation: enough to find a broken schema or a 5xx, few enough to stay under a minute.
EXAMPLES = 100
#: Scenarios of up to six linked calls.
WORKFLOWS = 60
#: A spec's validation goes beyond JSON Schema (references, sizes, regions): a body that
#: fits the schema may still be refused with a 422 that lists its problems.
SPEC_BODIES = {"create_infrastructure", "update_infrastructure", "plan", "estimate_cost"}


def _app() -> Starlette:
    # Instant transitions and no rate limit: each generated call is answered the same way
    # however many came before it.
    cloud = MemoryCloud(
        clock=ManualClock(), tokens=[TOKEN], latencies=Latencies().scaled(0), rate_limit=None
    )
    return create_app(
        Settings(
            store=SQLiteStore(":memory:"),
            registry=memory.registry(),
            auth=AuthConfig(jwt_secret=Secret(SECRET)),
            shared_providers={"memory": cloud_provider(cloud)},
            watch_interval=0.01,
        )
    )


APP = _app()
# The document as the app serves it (no lifespan is started for that: it begins with the
# first generated request, and ends with the module).
schema = schemathesis.openapi.from_dict(asgi.get_client(APP).get("/openapi.json").json())
schema.app = APP


@pytest.fixture(scope="module", autouse=True)
def _shutdown() -> Iterator[None]:
    yield
    asgi.shutdown_lifespans()  # the app's shutdown: background operations end here


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_app_keeps_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token('ws-fuzz', expires_in=3600)}"},
        excluded_checks=_excluded(case),
    )


def _excluded(case: schemathesis.Case) -> list[Any]:
    if case.operation.definition.raw.get("operationId") in SPEC_BODIES:
        return [positive_data_acceptance]
    return []


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences that follow the document's links: create, then read, follow, change, destroy
    what was created (the checks that need history, such as a created resource being
    available afterwards, run here).

    Each scenario runs in a workspace of its own, and each step waits for the operations it
    started: replayed, a scenario gets the same answers (hypothesis insists on it)."""

    def setup(self) -> None:
        self.headers = {"Authorization": f"Bearer {token(f'ws-{uuid.uuid4().hex[:12]}')}"}

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
        return {"headers": self.headers}

    def after_call(self, response: Any, case: schemathesis.Case) -> None:
        super().after_call(response, case)
        deadline = time.monotonic() + 10
        while APP.state.service.operations.running and time.monotonic() < deadline:
            time.sleep(0.001)

    def validate_response(
        self,
        response: Any,
        case: schemathesis.Case,
        additional_checks: Any = None,
        **kwargs: Any,
    ) -> None:
        case.validate_response(
            response,
            # DELETE destroys what an infrastructure holds; its record stays readable, with
            # its history and the status "destroyed" the platform's callers read.
            excluded_checks=[*_excluded(case), use_after_free],
            headers=kwargs.get("headers"),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_workflows_keep_the_document() -> None:
    Workflow.run(
        settings=settings(
            max_examples=WORKFLOWS,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
