"""Fault injection: every kind, on every create endpoint, matched by method and path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from atlas_digitalocean.emulator import Emulator, Fault, FaultKind, ManualClock
from tests.atlas_digitalocean.emulator.emulator_support import HTTP_RULE, SSH_RULE, Api

CREATES: dict[str, tuple[str, dict[str, Any]]] = {
    "droplets": (
        "/v2/droplets",
        {"name": "web", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "nyc3"},
    ),
    "volumes": ("/v2/volumes", {"name": "data", "size_gigabytes": 5, "region": "nyc3"}),
    "databases": (
        "/v2/databases",
        {"name": "db", "engine": "pg", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "nyc3"},
    ),
    "load_balancers": (
        "/v2/load_balancers",
        {"name": "lb", "region": "nyc3", "forwarding_rules": [HTTP_RULE]},
    ),
    "firewalls": ("/v2/firewalls", {"name": "fw", "inbound_rules": [SSH_RULE]}),
    "vpcs": ("/v2/vpcs", {"name": "net", "region": "nyc3"}),
}
SINGULAR = {kind: kind.removesuffix("s") for kind in CREATES}


def _user_objects(emulator: Emulator, kind: str) -> list[dict[str, Any]]:
    objects = emulator.objects(kind)
    if kind == "vpcs":  # ignore default VPCs made for other creates
        return [vpc for vpc in objects if not vpc["name"].startswith("default-")]
    return objects


@pytest.mark.parametrize("kind", CREATES)
def test_error_before_answers_500_and_applies_nothing(
    api: Api, emulator: Emulator, kind: str
) -> None:
    path, body = CREATES[kind]
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, "POST", path))
    response = api.client.post(path, json=body)
    assert response.status_code == 500
    assert response.json()["id"] == "server_error"
    assert _user_objects(emulator, kind) == []
    assert api.client.post(path, json=body).is_success


@pytest.mark.parametrize("kind", CREATES)
def test_error_after_answers_500_but_the_object_exists(
    api: Api, emulator: Emulator, kind: str
) -> None:
    path, body = CREATES[kind]
    emulator.add_fault(Fault(FaultKind.ERROR_AFTER, "POST", path))
    assert api.client.post(path, json=body).status_code == 500
    assert len(_user_objects(emulator, kind)) == 1


@pytest.mark.parametrize("kind", CREATES)
def test_drop_after_applies_the_create_then_hangs_up(
    api: Api, emulator: Emulator, kind: str
) -> None:
    path, body = CREATES[kind]
    emulator.add_fault(Fault("drop_after", "POST", path))
    with pytest.raises(httpx.RemoteProtocolError):
        api.client.post(path, json=body)
    assert len(_user_objects(emulator, kind)) == 1
    assert emulator.log.dropped == 1
    assert emulator.log.records[-1].status is None


@pytest.mark.parametrize("kind", CREATES)
def test_not_found_after_create_hides_the_new_object_from_the_next_reads(
    api: Api, emulator: Emulator, kind: str
) -> None:
    path, body = CREATES[kind]
    emulator.add_fault(Fault(FaultKind.NOT_FOUND_AFTER_CREATE, "POST", path, times=2))
    created = api.client.post(path, json=body).json()[SINGULAR[kind]]
    url = f"{path}/{created['id']}"
    assert [api.client.get(url).status_code for _ in range(3)] == [404, 404, 200]
    second = api.client.post(path, json={**body, "name": "second-one"}).json()[SINGULAR[kind]]
    assert api.client.get(f"{path}/{second['id']}").status_code == 200


def test_rate_limit_burst_answers_429_with_retry_after_n_times(
    client: httpx.Client, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(FaultKind.RATE_LIMIT_BURST, times=3, retry_after=7))
    statuses = []
    for _ in range(4):
        response = client.get("/v2/account")
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["retry-after"] == "7"
            assert response.json()["id"] == "too_many_requests"
    assert statuses == [429, 429, 429, 200]
    assert emulator.log.throttled == 3


def test_faults_only_strike_matching_requests(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, "POST", "/v2/volumes"))
    assert api.client.get("/v2/volumes").status_code == 200
    api.droplet()
    assert emulator.faults == [(Fault(FaultKind.ERROR_BEFORE, "POST", "/v2/volumes"), 1)]
    assert api.client.post("/v2/volumes", json=CREATES["volumes"][1]).status_code == 500
    assert emulator.faults == []


def test_a_fault_is_not_spent_on_a_request_that_fails_anyway(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(Fault(FaultKind.ERROR_AFTER, "POST", "/v2/(droplets|volumes)"))
    assert api.client.post("/v2/volumes", json={"name": "x"}).status_code == 422
    assert len(emulator.faults) == 1
    assert api.client.post("/v2/volumes", json=CREATES["volumes"][1]).status_code == 500


def test_faults_apply_in_order_and_can_be_cleared(api: Api, emulator: Emulator) -> None:
    emulator.add_fault(Fault(FaultKind.ERROR_BEFORE, path="/v2/account", times=2))
    emulator.add_fault(Fault(FaultKind.RATE_LIMIT_BURST, path="/v2/account"))
    assert api.client.get("/v2/account").status_code == 429  # bursts are checked first
    emulator.clear_faults()
    assert api.client.get("/v2/account").status_code == 200


@pytest.mark.parametrize(
    "arguments",
    [
        {"kind": "explode"},
        {"kind": "error_before", "times": 0},
        {"kind": "drop_after", "path": "("},
    ],
)
def test_invalid_faults_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        Fault(**arguments)


def test_an_error_after_on_an_action_still_starts_the_action(
    api: Api, emulator: Emulator, clock: ManualClock
) -> None:
    droplet = api.droplet()
    clock.advance(3)
    emulator.add_fault(Fault(FaultKind.ERROR_AFTER, "POST", r"/v2/droplets/\d+/actions"))
    actions = f"/v2/droplets/{droplet['id']}/actions"
    assert api.client.post(actions, json={"type": "power_off"}).status_code == 500
    assert api.client.post(actions, json={"type": "reboot"}).status_code == 422  # pending event
    clock.advance(2)
    assert api.client.get(f"/v2/droplets/{droplet['id']}").json()["droplet"]["status"] == "off"
