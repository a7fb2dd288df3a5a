"""Check HTTP traffic against DigitalOcean's published OpenAPI document.

The document is the bundled spec kept beside the repository, at
``<repo>/../shared/reference/digitalocean-openapi.yaml`` (or wherever ``ATLAS_DO_OPENAPI``
points). It is 3 MB of YAML, so it is parsed once per process with the C loader and cached.

Use :class:`ContractChecker` as an emulator ``on_exchange`` hook (or call ``check`` on any
request/response pair you have, e.g. from a ``MockTransport``) and assert it collected no
violations. Tests get one from the ``contract_checker`` fixture in ``conftest.py``, which
skips them when the document is not there.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_ENV = "ATLAS_DO_OPENAPI"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_PATH = REPO_ROOT.parent / "shared" / "reference" / "digitalocean-openapi.yaml"
# The document's only server; requests are checked as if they went there, whatever host
# (an emulator's loopback port, a MockTransport base URL) actually answered them.
SPEC_HOST = "https://api.digitalocean.com"


def spec_path() -> Path:
    return Path(os.environ.get(SPEC_ENV) or DEFAULT_SPEC_PATH)


@attrs.frozen
class LoadedSpec:
    openapi: OpenAPI
    path: Path
    load_seconds: float


@functools.cache
def load_spec() -> LoadedSpec:
    """Parse the document once per process; raises FileNotFoundError when it is absent."""
    path = spec_path()
    started = time.perf_counter()
    with path.open("rb") as stream:
        document = yaml.load(stream, Loader=yaml.CSafeLoader)
    # The bundle was validated when it was made; re-validating 3 MB on every run costs
    # seconds and proves nothing new.
    openapi = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
    return LoadedSpec(openapi, path, time.perf_counter() - started)


class _Request:
    """An httpx request seen through openapi-core's Request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        self.host_url = SPEC_HOST
        self.path = request.url.path
        self.method = request.method.lower()
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("content-type", "")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    """An httpx response seen through openapi-core's Response protocol."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data: bytes | None = response.content or None
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(list(response.headers.items()))


@attrs.frozen
class Violation:
    """One way a request or response departs from the document."""

    method: str
    path: str
    status: int
    side: str  # "request" or "response"
    problem: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}: {self.side}: {self.problem}"


def _describe(error: Exception) -> Iterator[str]:
    """Short, readable lines for an openapi-core error and the schema errors under it."""
    cause = error.__cause__
    schema_errors = list(getattr(cause, "schema_errors", None) or [])
    if not schema_errors:
        yield f"{type(error).__name__}: {cause or error}"
        return
    for schema_error in schema_errors:
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}"
            for part in getattr(schema_error, "absolute_path", ())
        )
        message = getattr(schema_error, "message", str(schema_error))
        yield f"{type(error).__name__} at body{where}: {message}"


class ContractChecker:
    """Collects violations of the OpenAPI document; usable directly as an ``on_exchange`` hook.

    :param check_requests: also validate requests (turn off for tests that send bad requests
        on purpose and only care that the answers are well-formed).
    """

    def __init__(self, spec: LoadedSpec, *, check_requests: bool = True) -> None:
        self.spec = spec
        self.check_requests = check_requests
        self.violations: list[Violation] = []
        self.checked = 0
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request, response: httpx.Response) -> None:
        self.check(request, response)

    def check(self, request: httpx.Request, response: httpx.Response) -> list[Violation]:
        """Validate one exchange, remember and return its violations."""
        found = list(self._violations(request, response))
        with self._lock:
            self.checked += 1
            self.violations.extend(found)
        return found

    def _violations(self, request: httpx.Request, response: httpx.Response) -> Iterator[Violation]:
        openapi = self.spec.openapi
        wrapped = _Request(request)
        sides: list[tuple[str, Any]] = [
            ("response", openapi.iter_response_errors(wrapped, _Response(response)))
        ]
        if self.check_requests:
            sides.insert(0, ("request", openapi.iter_request_errors(wrapped)))
        for side, errors in sides:
            for error in errors:
                for problem in _describe(error):
                    yield Violation(
                        request.method, request.url.path, response.status_code, side, problem
                    )

    def assert_clean(self) -> None:
        """Fail with every violation listed, or pass if traffic matched the document."""
        assert self.checked, "no traffic was checked against the OpenAPI document"
        if self.violations:
            lines = "\n".join(f"  {violation}" for violation in self.violations)
            raise AssertionError(f"{len(self.violations)} OpenAPI contract violation(s):\n{lines}")
