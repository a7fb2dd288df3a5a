"""A client of the HTTP contract the platform's agents speak, written from the reference
table alone (controlvector-ecosystem.md): no atlas imports, nothing atlas adds. If it works
against ``atlas serve`` unchanged, the agents do too."""

from __future__ import annotations

import time
from typing import Any

import httpx


class ContractError(Exception):
    """An error body of the old service: ``{"error", "message", "code"}``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body['code']}: {body['message']}")
        self.status = status
        self.error = body["error"]
        self.code = body["code"]


class InfrastructureClient:
    def __init__(self, base_url: str, jwt: str) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {jwt}"}, timeout=10
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None, ok: int = 200) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code != ok:
            raise ContractError(response.status_code, response.json())
        return response.json()

    def service(self) -> dict[str, Any]:
        info: dict[str, Any] = self._call("GET", "/")
        assert {"service", "version", "capabilities", "endpoints"} <= set(info)
        return info

    def healthy(self) -> bool:
        health = self._call("GET", "/api/v1/health")
        assert {"status", "timestamp", "service", "version", "providers"} <= set(health)
        return bool(health["status"] == "healthy")

    def providers(self) -> list[dict[str, Any]]:
        body = self._call("GET", "/api/v1/providers")
        assert body["count"] == len(body["providers"])
        for p in body["providers"]:
            assert p["status"] in ("available", "disconnected") or isinstance(p["status"], str)
            assert isinstance(p["connected"], bool)
        providers: list[dict[str, Any]] = body["providers"]
        return providers

    def create(self, spec: dict[str, Any]) -> tuple[str, str]:
        """The infrastructure's id and its operation's id."""
        body = self._call("POST", "/api/v1/infrastructure", spec, ok=201)
        return body["infrastructure"]["id"], body["operation"]["id"]

    def list(self) -> list[dict[str, Any]]:
        body = self._call("GET", "/api/v1/infrastructure")
        assert body["count"] == len(body["infrastructures"])
        items: list[dict[str, Any]] = body["infrastructures"]
        return items

    def get(self, infrastructure_id: str) -> dict[str, Any]:
        infra: dict[str, Any] = self._call("GET", f"/api/v1/infrastructure/{infrastructure_id}")[
            "infrastructure"
        ]
        assert infra["status"] in (
            "pending", "provisioning", "active", "updating", "error", "destroying", "destroyed"
        )  # fmt: skip
        return infra

    def update(self, infrastructure_id: str, spec: dict[str, Any]) -> str:
        body = self._call("PUT", f"/api/v1/infrastructure/{infrastructure_id}", spec)
        assert body["infrastructure"]["id"] == infrastructure_id
        operation_id: str = body["operation"]["id"]
        return operation_id

    def delete(self, infrastructure_id: str) -> str:
        operation_id: str = self._call("DELETE", f"/api/v1/infrastructure/{infrastructure_id}")[
            "operation"
        ]["id"]
        return operation_id

    def operation(self, operation_id: str) -> dict[str, Any]:
        op: dict[str, Any] = self._call("GET", f"/api/v1/operations/{operation_id}")["operation"]
        for field in ("id", "status", "total_steps", "completed_steps", "current_step",
                      "created_resources", "cost_change"):  # fmt: skip
            assert field in op
        assert op["status"] in ("pending", "in_progress", "completed", "failed")
        return op

    def wait(self, operation_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            op = self.operation(operation_id)
            if op["status"] in ("completed", "failed"):
                return op
            if time.monotonic() > deadline:
                raise TimeoutError(f"operation {operation_id} still {op['status']}")
            time.sleep(0.2)

    def estimate(self, spec: dict[str, Any]) -> tuple[str, list[tuple[str, str, str]]]:
        """The monthly total and each resource's cost, formatted as the callers do
        (``toFixed(2)``)."""
        body = self._call("POST", "/api/v1/estimate-cost", spec)
        assert body["currency"] == "USD"
        lines = [
            (b["resource_type"], b["resource_name"], f"{b['estimated_cost']:.2f}")
            for b in body["breakdown"]
        ]
        return f"{body['estimated_monthly_cost']:.2f}", lines

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._call("GET", "/api/v1/stats")["stats"]
        for field in ("total_infrastructures", "active_infrastructures", "total_resources",
                      "estimated_monthly_cost"):  # fmt: skip
            assert field in stats
        return stats
