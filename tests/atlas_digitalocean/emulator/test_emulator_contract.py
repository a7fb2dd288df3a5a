"""A realistic session over every emulated endpoint, checked against DigitalOcean's OpenAPI
document: every request the session sends and every answer the emulator gives must conform."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from atlas_digitalocean.emulator import Emulator, Fault, FaultKind, ManualClock
from atlas_digitalocean.emulator.core import ROUTES
from tests.atlas_digitalocean import contract

pytestmark = pytest.mark.contract

RULE = {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}
SSH = {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0"]}}
EGRESS = {"protocol": "tcp", "ports": "all", "destinations": {"addresses": ["0.0.0.0/0"]}}


def _ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


def _droplets(client: httpx.Client, clock: ManualClock) -> dict[str, Any]:
    body = {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "region": "nyc3"}
    one = _ok(client.post("/v2/droplets", json={**body, "name": "web-1", "tags": ["web"]}), 202)
    many = _ok(
        client.post("/v2/droplets", json={**body, "names": ["w-2", "w-3"], "ipv6": True}), 202
    )
    droplet_id = one["droplet"]["id"]
    _ok(client.get(f"/v2/actions/{one['links']['actions'][0]['id']}"), 200)
    clock.advance(5)
    _ok(client.get("/v2/droplets", params={"tag_name": "web"}), 200)
    _ok(client.get("/v2/droplets", params={"name": "w-2", "per_page": 1}), 200)
    _ok(client.get("/v2/droplets", params={"per_page": 1, "page": 2}), 200)
    _ok(client.get(f"/v2/droplets/{droplet_id}"), 200)
    _ok(
        client.post(
            f"/v2/droplets/{droplet_id}/actions", json={"type": "resize", "size": "s-2vcpu-4gb"}
        ),
        422,
    )
    for action in (
        {"type": "power_off"},
        {"type": "resize", "size": "s-2vcpu-4gb", "disk": True},
        {"type": "power_on"},
        {"type": "rename", "name": "web-one"},
        {"type": "enable_backups"},
        {"type": "disable_backups"},
        {"type": "reboot"},
        {"type": "shutdown"},
    ):
        started = _ok(client.post(f"/v2/droplets/{droplet_id}/actions", json=action), 201)
        clock.advance(3)
        _ok(client.get(f"/v2/droplets/{droplet_id}/actions/{started['action']['id']}"), 200)
    _ok(client.get(f"/v2/droplets/{droplet_id}/actions"), 200)
    return {"web": droplet_id, "others": [d["id"] for d in many["droplets"]]}


def _volumes(client: httpx.Client, clock: ManualClock, droplet_id: int) -> None:
    body = {"name": "data", "size_gigabytes": 10, "region": "nyc3", "filesystem_type": "ext4"}
    volume = _ok(client.post("/v2/volumes", json={**body, "tags": ["web"]}), 201)["volume"]
    path = f"/v2/volumes/{volume['id']}"
    _ok(client.get("/v2/volumes", params={"name": "data", "region": "nyc3"}), 200)
    _ok(client.get(path), 200)
    on_droplet = {"droplet_id": droplet_id, "region": "nyc3"}
    attach = _ok(client.post(f"{path}/actions", json={"type": "attach", **on_droplet}), 202)
    _ok(client.get(f"{path}/actions/{attach['action']['id']}"), 200)
    clock.advance(2)
    _ok(client.delete(path), 409)
    grow = {"type": "resize", "size_gigabytes": 20, "region": "nyc3"}
    _ok(client.post(f"{path}/actions", json=grow), 202)
    clock.advance(2)
    _ok(client.post(f"{path}/actions", json={"type": "detach", **on_droplet}), 202)
    clock.advance(2)
    _ok(client.get(f"{path}/actions"), 200)
    _ok(client.delete(path), 204)
    _ok(client.post("/v2/volumes", json={**body, "name": "scratch"}), 201)
    _ok(client.delete("/v2/volumes", params={"name": "scratch", "region": "nyc3"}), 204)


def _databases(client: httpx.Client, clock: ManualClock) -> None:
    body = {
        "name": "db",
        "engine": "pg",
        "num_nodes": 2,
        "size": "db-s-1vcpu-2gb",
        "region": "nyc3",
        "tags": ["web"],
    }
    database = _ok(client.post("/v2/databases", json=body), 201)["database"]
    for engine in ("mysql", "valkey", "mongodb", "kafka", "opensearch"):
        _ok(
            client.post("/v2/databases", json={**body, "name": f"db-{engine}", "engine": engine}),
            201,
        )
    path = f"/v2/databases/{database['id']}"
    _ok(client.get("/v2/databases"), 200)
    _ok(client.get("/v2/databases", params={"tag_name": "web"}), 200)
    clock.advance(11)
    _ok(client.get(path), 200)
    _ok(client.put(f"{path}/resize", json={"size": "db-s-2vcpu-4gb", "num_nodes": 3}), 202)
    _ok(client.get(path), 200)
    clock.advance(11)
    _ok(client.delete(path), 204)


def _load_balancers(client: httpx.Client, clock: ManualClock, droplets: dict[str, Any]) -> None:
    common = {"region": "nyc3", "forwarding_rules": [RULE]}
    by_id = {**common, "name": "lb-ids", "droplet_ids": [droplets["web"]]}
    lb = _ok(client.post("/v2/load_balancers", json=by_id), 202)["load_balancer"]
    by_tag = {**common, "name": "lb-tag", "tag": "web", "network_stack": "DUALSTACK"}
    _ok(client.post("/v2/load_balancers", json=by_tag), 202)
    path = f"/v2/load_balancers/{lb['id']}"
    clock.advance(6)
    _ok(client.get("/v2/load_balancers"), 200)
    _ok(client.get(path), 200)
    update = {
        **by_id,
        "sticky_sessions": {"type": "cookies", "cookie_name": "s", "cookie_ttl_seconds": 60},
    }
    _ok(client.put(path, json=update), 200)
    _ok(client.post(f"{path}/droplets", json={"droplet_ids": droplets["others"]}), 204)
    _ok(
        client.request("DELETE", f"{path}/droplets", json={"droplet_ids": droplets["others"][:1]}),
        204,
    )
    https = {
        **RULE,
        "entry_protocol": "https",
        "entry_port": 443,
        "tls_passthrough": True,
        "target_protocol": "https",
        "target_port": 443,
    }
    _ok(client.post(f"{path}/forwarding_rules", json={"forwarding_rules": [https]}), 204)
    _ok(
        client.request("DELETE", f"{path}/forwarding_rules", json={"forwarding_rules": [https]}),
        204,
    )
    _ok(client.delete(path), 204)


def _firewalls(client: httpx.Client, clock: ManualClock, droplets: dict[str, Any]) -> None:
    body = {"name": "fw", "inbound_rules": [SSH], "droplet_ids": [droplets["web"]], "tags": ["web"]}
    firewall = _ok(client.post("/v2/firewalls", json=body), 202)["firewall"]
    path = f"/v2/firewalls/{firewall['id']}"
    clock.advance(2)
    _ok(client.get("/v2/firewalls"), 200)
    _ok(client.get(path), 200)
    _ok(
        client.put(path, json={"name": "fw-2", "inbound_rules": [SSH], "outbound_rules": [EGRESS]}),
        200,
    )
    _ok(client.post(f"{path}/droplets", json={"droplet_ids": droplets["others"]}), 204)
    _ok(client.request("DELETE", f"{path}/droplets", json={"droplet_ids": droplets["others"]}), 204)
    _ok(client.post(f"{path}/tags", json={"tags": ["web"]}), 204)
    _ok(client.request("DELETE", f"{path}/tags", json={"tags": ["web"]}), 204)
    icmp = {"protocol": "icmp", "ports": "0", "sources": {"addresses": ["0.0.0.0/0"]}}
    _ok(client.post(f"{path}/rules", json={"inbound_rules": [icmp]}), 204)
    _ok(client.request("DELETE", f"{path}/rules", json={"inbound_rules": [icmp]}), 204)
    clock.advance(2)
    _ok(client.get(path), 200)
    _ok(client.delete(path), 204)


def _vpcs(client: httpx.Client) -> None:
    vpc = _ok(
        client.post(
            "/v2/vpcs", json={"name": "net", "region": "fra1", "ip_range": "10.200.0.0/24"}
        ),
        201,
    )["vpc"]
    path = f"/v2/vpcs/{vpc['id']}"
    _ok(client.post("/v2/vpcs", json={"name": "net", "region": "fra1"}), 409)
    _ok(client.get("/v2/vpcs"), 200)
    _ok(client.get(path), 200)
    _ok(client.put(path, json={"name": "net-2", "description": "renamed"}), 200)
    _ok(client.patch(path, json={"description": "patched"}), 200)
    _ok(client.get(f"{path}/members"), 200)
    _ok(client.delete(path), 403)  # the first VPC in fra1 is its default
    other = _ok(client.post("/v2/vpcs", json={"name": "net-3", "region": "fra1"}), 201)["vpc"]
    _ok(client.delete(f"/v2/vpcs/{other['id']}"), 204)


def _catalog(client: httpx.Client) -> None:
    _ok(client.get("/v2/sizes", params={"per_page": 200}), 200)
    _ok(client.get("/v2/regions"), 200)
    _ok(client.get("/v2/images", params={"type": "distribution", "per_page": 5}), 200)
    _ok(client.get("/v2/images", params={"private": "true"}), 200)
    _ok(client.get("/v2/account"), 200)
    _ok(client.get("/v2/actions", params={"per_page": 5}), 200)
    _ok(client.post("/v2/tags", json={"name": "team:atlas"}), 201)
    _ok(client.get("/v2/tags"), 200)
    _ok(client.get("/v2/tags/web"), 200)
    _ok(client.get("/v2/tags/nope"), 404)


def _tags_and_cleanup(client: httpx.Client, droplets: dict[str, Any]) -> None:
    resources = {
        "resources": [{"resource_id": str(droplets["others"][0]), "resource_type": "droplet"}]
    }
    _ok(client.post("/v2/tags/team:atlas/resources", json=resources), 204)
    _ok(client.request("DELETE", "/v2/tags/team:atlas/resources", json=resources), 204)
    _ok(client.get(f"/v2/droplets/{droplets['others'][0]}"), 200)
    _ok(client.delete(f"/v2/droplets/{droplets['others'][0]}"), 204)
    _ok(client.get(f"/v2/droplets/{droplets['others'][0]}"), 404)
    _ok(client.delete("/v2/droplets", params={"tag_name": "web"}), 204)
    _ok(client.delete("/v2/tags/team:atlas"), 204)


def _billing(client: httpx.Client, clock: ManualClock) -> None:
    _ok(client.get("/v2/customers/my/balance"), 200)
    clock.advance(40 * 86_400)  # into another month: the one before is invoiced
    listed = _ok(client.get("/v2/customers/my/invoices", params={"per_page": 1}), 200)
    assert listed["invoices"]
    assert listed["invoice_preview"]["invoice_period"]


def _faults(client: httpx.Client, emulator: Emulator) -> None:
    emulator.add_fault(Fault(FaultKind.RATE_LIMIT_BURST, "GET", "/v2/account"))
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, "GET", "/v2/regions"))
    _ok(client.get("/v2/account"), 429)
    _ok(client.get("/v2/regions"), 500)


def test_a_session_over_every_endpoint_conforms_to_the_openapi_document(
    emulator: Emulator,
    client: httpx.Client,
    clock: ManualClock,
    contract_checker: contract.ContractChecker,
) -> None:
    emulator.on_exchange.append(contract_checker)
    droplets = _droplets(client, clock)
    _catalog(client)
    _volumes(client, clock, droplets["web"])
    _databases(client, clock)
    _load_balancers(client, clock, droplets)
    _firewalls(client, clock, droplets)
    _vpcs(client)
    _billing(client, clock)
    _tags_and_cleanup(client, droplets)
    _faults(client, emulator)
    assert contract_checker.checked == len(emulator.log)
    assert {route.key for route in ROUTES} <= set(emulator.log.counts()), "an endpoint was missed"
    contract_checker.assert_clean()
