"""Request work that needs nothing of the server's state: reading a spec body, and the two
heavy requests that a worker *process* can answer whole.

A body is bytes in and a document out (:func:`parse_spec`), with the answers the app gives
for a bad one. :func:`estimate_answer` and :func:`plan_answer` take a body and give the bytes
of the answer: an estimate, and the plan of a spec nothing is recorded for yet (no live
infrastructure of its name, nothing to import, no refresh), which is a diff against nothing.
Neither reads the store or a provider, only the installed plugins, which a worker process
loads for itself (:func:`default_registry`): they answer there exactly what
:meth:`AsyncAtlas.estimate <atlas.AsyncAtlas.estimate>` and :meth:`AsyncAtlas.plan
<atlas.AsyncAtlas.plan>` answer in the server (tests/atlas/server/test_heavy.py compares the
bytes). Any error they raise is the :class:`ApiError` the app would answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

from atlas.cost.billing import Duration
from atlas.cost.engine import estimate_spec
from atlas.exceptions import AtlasError, Problem, SpecError, SpecValidationError
from atlas.lifecycle.plan import make_plan
from atlas.runtime import default_registry
from atlas.server.errors import ApiError, from_exception, validation_error
from atlas.server.offload import render_json
from atlas.server.responses import placed_estimate_json, plan_json
from atlas.server.settings import MAX_RESOURCES_ENV
from atlas.spec.load import decode_bytes, json_document
from atlas.spec.validate import validate_spec

__all__ = [
    "estimate_answer",
    "parse_json",
    "parse_spec",
    "plan_answer",
]


def parse_json(body: bytes) -> Any:
    """``body`` as JSON, read as spec files are: strict UTF-8 (a leading byte order mark
    dropped), and a key given twice refused (422, with its path and both lines); 400 when it
    is not JSON."""
    try:
        text = decode_bytes(body, origin="the request body")
    except SpecError as exc:
        raise ApiError(400, "BAD_REQUEST", str(exc)) from None
    try:
        return json_document(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "BAD_REQUEST", f"malformed JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    except SpecValidationError as exc:  # a duplicate key: the body parses, but means two things
        raise validation_error(exc.problems) from None
    except (ValueError, RecursionError) as exc:  # NaN, absurd nesting or digits
        raise ApiError(400, "BAD_REQUEST", f"malformed JSON: {_short(exc)}") from None


def parse_spec(body: bytes, max_resources: int) -> Mapping[str, Any]:
    """A spec body: only a JSON object (a string would be read as YAML by the library), of at
    most ``max_resources`` resources: 422 ``TOO_MANY_RESOURCES`` beyond, before anything else
    is done with it."""
    doc = parse_json(body)
    if not isinstance(doc, Mapping):
        raise validation_error([Problem("", "a spec must be a JSON object")])
    resources = doc.get("resources")
    if isinstance(resources, list) and len(resources) > max_resources:
        message = (
            f"the spec has {len(resources)} resources; this server takes at most "
            f"{max_resources} in one request ({MAX_RESOURCES_ENV})"
        )
        raise ApiError(
            422,
            "TOO_MANY_RESOURCES",
            message,
            extra={"problems": [{"path": "resources", "message": message}], "limit": max_resources},
        )
    return doc


def estimate_answer(body: bytes, max_resources: int, duration: Duration | None) -> bytes:
    """The answer to ``POST /api/v1/estimate-cost`` with ``body``: AsyncAtlas.estimate's."""
    registry = default_registry()
    try:
        spec = validate_spec(parse_spec(body, max_resources), registry=registry, purpose="estimate")
        estimate = estimate_spec(spec, registry, duration=duration)
        return render_json(placed_estimate_json(spec, estimate))
    except AtlasError as exc:
        raise from_exception(exc) from None


def plan_answer(body: bytes, max_resources: int) -> bytes:
    """The answer to ``POST /api/v1/plan`` with ``body``, for a spec nothing is recorded for:
    what AsyncAtlas.plan answers then (every resource created, priced; nothing read)."""
    registry = default_registry()
    try:
        spec = validate_spec(parse_spec(body, max_resources), registry=registry)
        return render_json({"plan": plan_json(make_plan(spec, [], registry))})
    except AtlasError as exc:
        raise from_exception(exc) from None


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
