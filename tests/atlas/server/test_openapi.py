"""The OpenAPI document describes the app: every route and method, nothing more, and it is a
valid OpenAPI 3.1 document. (Responses are checked against it in every other test, see
conformance.py, and fuzzed in test_fuzz.py.)"""

from __future__ import annotations

import json

from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import Route

from atlas.credentials import Secret
from atlas.portable import PORTABLE_TYPES
from atlas.server import AuthConfig, build_document, create_app
from atlas.server.errors import CODES
from tests.atlas.server.conftest import SECRET, MakeSettings


def test_the_document_is_valid_openapi_3_1(app: Starlette, make_settings: MakeSettings) -> None:
    for auth in (AuthConfig(), AuthConfig(jwt_secret=Secret(SECRET))):
        validate(build_document(make_settings(auth=auth)))  # type: ignore[arg-type]
    validate(app.state.service.document)


def test_every_route_is_documented_and_nothing_else(app: Starlette) -> None:
    routed = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (method.upper(), path)
        for path, item in app.state.service.document["paths"].items()
        for method in item
    }
    assert routed == documented
    assert len(routed) == 22


def test_error_codes_are_the_ones_raised(app: Starlette) -> None:
    schema = app.state.service.document["components"]["schemas"]["Error"]
    assert schema["properties"]["code"]["enum"] == list(CODES)


def test_security_follows_the_configuration(make_settings: MakeSettings) -> None:
    open_doc = build_document(make_settings(auth=AuthConfig()))
    assert "security" not in open_doc
    assert "403" in open_doc["paths"]["/api/v1/stats"]["get"]["responses"]
    closed = build_document(make_settings())
    assert closed["security"] == [{"bearerJWT": []}]
    assert closed["paths"]["/api/v1/health"]["get"]["security"] == []
    assert "401" in closed["paths"]["/api/v1/stats"]["get"]["responses"]
    assert "401" not in closed["paths"]["/"]["get"]["responses"]


def test_the_spec_schema_names_the_registered_providers_and_kinds(app: Starlette) -> None:
    # ...and the portable ones, which every spec may use (docs/portable.md).
    spec = app.state.service.document["components"]["schemas"]["InfrastructureSpec"]
    assert spec["properties"]["provider"]["enum"] == ["any", "memory"]
    kinds = spec["properties"]["resources"]["items"]["properties"]["type"]["enum"]
    assert kinds == sorted({"disk", "network", "server", *PORTABLE_TYPES})


def test_the_served_document_is_the_built_one(app: Starlette, make_settings: MakeSettings) -> None:
    assert json.loads(json.dumps(app.state.service.document)) == build_document(make_settings())
    assert create_app(make_settings()).state.service.document == app.state.service.document
