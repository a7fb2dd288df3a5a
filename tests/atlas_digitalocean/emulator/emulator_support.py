"""Helpers for the emulator's tests: the base URL, a token, and a creator of common objects."""

from __future__ import annotations

from typing import Any

import httpx

BASE_URL = "https://api.digitalocean.com"
TOKEN = "dop_v1_emulator-test-token"


class Api:
    """Creates the objects most tests need, asserting each create succeeded."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def _post(self, path: str, body: dict[str, Any], status: int, key: str) -> dict[str, Any]:
        response = self.client.post(path, json=body)
        assert response.status_code == status, response.text
        created: dict[str, Any] = response.json()[key]
        return created

    def droplet(self, name: str = "web-1", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "nyc3"}
        return self._post("/v2/droplets", {**body, **fields}, 202, "droplet")

    def volume(self, name: str = "data-1", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "size_gigabytes": 10, "region": "nyc3"}
        return self._post("/v2/volumes", {**body, **fields}, 201, "volume")

    def database(self, name: str = "db-1", **fields: Any) -> dict[str, Any]:
        body = {
            "name": name,
            "engine": "pg",
            "num_nodes": 1,
            "size": "db-s-1vcpu-1gb",
            "region": "nyc3",
        }
        return self._post("/v2/databases", {**body, **fields}, 201, "database")

    def load_balancer(self, name: str = "lb-1", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "region": "nyc3", "forwarding_rules": [HTTP_RULE], "droplet_ids": []}
        return self._post("/v2/load_balancers", {**body, **fields}, 202, "load_balancer")

    def firewall(self, name: str = "fw-1", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "inbound_rules": [SSH_RULE]}
        return self._post("/v2/firewalls", {**body, **fields}, 202, "firewall")

    def vpc(self, name: str = "net-1", **fields: Any) -> dict[str, Any]:
        return self._post("/v2/vpcs", {"name": name, "region": "nyc3", **fields}, 201, "vpc")


HTTP_RULE = {
    "entry_protocol": "http",
    "entry_port": 80,
    "target_protocol": "http",
    "target_port": 80,
}
SSH_RULE = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
