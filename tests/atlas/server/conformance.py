"""Every response checked against the OpenAPI document: status documented, headers present,
body valid (an event stream: every event, and the JSON each one carries).

Hooked into the test client, so each in-process test is also a test of the document.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator

_STREAM_DATA = {"step": "Step", "operation": "Operation"}


class Conformance:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]
        self.checked = 0

    def validate(self, schema: dict[str, Any], instance: Any) -> None:
        rooted = {**schema, "components": self.document["components"]}
        Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
            instance
        )

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        for pattern, template in self.routes:
            if pattern.match(path):
                found: dict[str, Any] | None = self.document["paths"][template].get(method.lower())
                return found
        return None

    def check(self, response: httpx.Response) -> None:
        request = response.request
        method = "GET" if request.method == "HEAD" else request.method
        op = self.operation(method, request.url.path)
        if op is None:  # no such route or method: a JSON error all the same
            assert response.status_code in (404, 405), response.text
            self.validate({"$ref": "#/components/schemas/Error"}, response.json())
            return
        declared = op["responses"].get(str(response.status_code))
        assert declared is not None, (
            f"{method} {request.url.path}: status {response.status_code} is not documented"
        )
        declared = self._deref(declared)
        for name, header in declared.get("headers", {}).items():
            if self._deref(header).get("required"):
                assert name in response.headers, f"{name} header missing"
        self.checked += 1
        if request.method == "HEAD":
            return
        media = response.headers["content-type"].split(";")[0]
        content = declared["content"]
        assert media in content, f"{media} is not documented for {response.status_code}"
        schema = content[media]["schema"]
        if media == "text/event-stream":
            for event in parse_sse(response.text):
                self.validate(schema, event)
                self._check_stream_data(event)
        elif not media.endswith("json"):  # text (/metrics): the body as a string
            self.validate(schema, response.text)
        else:
            self.validate(schema, response.json())

    def _check_stream_data(self, event: dict[str, str]) -> None:
        data = json.loads(event["data"])
        name = _STREAM_DATA.get(event["event"], "Event")
        if event["event"] == "end":
            assert set(data) == {"operation_id", "status", "error"}
            return
        self.validate({"$ref": f"#/components/schemas/{name}"}, data)


def parse_sse(text: str) -> list[dict[str, str]]:
    """``{"event", "data", "id"}`` for every event of a stream (comments skipped)."""
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "data" in fields:
            events.append(fields)
    return events
