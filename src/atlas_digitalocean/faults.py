"""The conformance kit's neutral faults (:class:`atlas.providers.Faults`) on the emulator.

Faults of a create are armed on the kind's create path (``POST /v2/droplets`` for
``droplet``); changes and deletes "outside atlas" are made through the emulator's API, as
someone in the control panel would make them, with a token of their own. Some of those are
DigitalOcean actions that take a while: the emulator's clock is moved past them, so that a
read right after sees them done.
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

from atlas_digitalocean.emulator import Emulator, Fault, FaultKind, Latencies

__all__ = ["CREATE_PATHS", "EmulatorFaults", "SkippingClock"]

#: Where each kind is created, and the collection its objects live in.
CREATE_PATHS = {
    "droplet": "/v2/droplets",
    "volume": "/v2/volumes",
    "database": "/v2/databases",
    "load_balancer": "/v2/load_balancers",
    "firewall": "/v2/firewalls",
    "vpc": "/v2/vpcs",
}
#: The tag a change outside puts on a droplet.
OUTSIDE_TAG = "changed-outside"
_BASE = "https://api.digitalocean.com"
_OUTSIDE_TOKEN = "outside-atlas"  # noqa: S105 - someone else's session, not a credential


class SkippingClock:
    """Real time (seconds since the epoch) that can be moved ahead, never back."""

    def __init__(self) -> None:
        self._ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self._ahead

    def skip(self, seconds: float) -> None:
        self._ahead += max(0.0, seconds)


class EmulatorFaults:
    """:class:`atlas.providers.Faults` for an :class:`Emulator` running on ``clock``."""

    def __init__(self, emulator: Emulator, clock: SkippingClock) -> None:
        self._emulator = emulator
        self._clock = clock

    # -- faults of the calls to come -----------------------------------------------------------

    def fail_after_apply(self, kind: str, *, times: int = 1) -> None:
        self._emulator.add_fault(Fault(FaultKind.ERROR_AFTER, "POST", _path(kind), times))

    def drop_after_apply(self, kind: str, *, times: int = 1) -> None:
        self._emulator.add_fault(Fault(FaultKind.DROP_AFTER, "POST", _path(kind), times))

    def throttle(self, *, times: int = 1, retry_after: float = 0.0) -> None:
        # The emulator's retry-after is whole seconds, like DigitalOcean's.
        seconds = math.ceil(retry_after)
        self._emulator.add_fault(
            Fault(FaultKind.RATE_LIMIT_BURST, times=times, retry_after=seconds)
        )

    def armed(self) -> int:
        return sum(remaining for _, remaining in self._emulator.faults)

    # -- edits outside atlas -------------------------------------------------------------------

    def delete_outside(self, kind: str, object_id: str) -> None:
        path = f"{_path(kind)}/{object_id}"
        if kind == "volume":
            # DigitalOcean refuses to delete an attached volume: detach it first.
            volume = self._call("GET", path).json()["volume"]
            region = volume["region"]["slug"]
            for droplet_id in volume.get("droplet_ids") or []:
                body = {"type": "detach", "droplet_id": droplet_id, "region": region}
                self._action(f"{path}/actions", body, self._latencies().volume_action)
        self._call("DELETE", path, missing_ok=True)

    def change_outside(self, kind: str, object_id: str) -> None:
        """Droplets get a tag, volumes grow, databases change size, load balancers gain a
        forwarding rule, firewalls a rule, VPCs a description."""
        changes = {
            "droplet": self._tag_droplet,
            "volume": self._grow_volume,
            "database": self._resize_database,
            "load_balancer": self._add_forwarding_rule,
            "firewall": self._add_firewall_rule,
            "vpc": self._describe_vpc,
        }
        changes[_kind(kind)](f"{_path(kind)}/{object_id}", object_id)

    def _tag_droplet(self, path: str, object_id: str) -> None:
        del path  # tags are applied through the tag, not the droplet
        self._call("POST", "/v2/tags", {"name": OUTSIDE_TAG})
        ref = {"resource_id": object_id, "resource_type": "droplet"}
        self._call("POST", f"/v2/tags/{OUTSIDE_TAG}/resources", {"resources": [ref]})

    def _grow_volume(self, path: str, object_id: str) -> None:
        del object_id  # the path names it
        volume = self._call("GET", path).json()["volume"]
        size = int(volume["size_gigabytes"]) + 10
        body = {"type": "resize", "size_gigabytes": size, "region": volume["region"]["slug"]}
        self._action(f"{path}/actions", body, self._latencies().volume_action)

    def _resize_database(self, path: str, object_id: str) -> None:
        del object_id  # the path names it
        db = self._call("GET", path).json()["database"]
        size = "db-s-2vcpu-4gb" if db["size"] != "db-s-2vcpu-4gb" else "db-s-1vcpu-2gb"
        self._call("PUT", f"{path}/resize", {"size": size, "num_nodes": db["num_nodes"]})
        self._skip(self._latencies().database_resize)

    def _add_forwarding_rule(self, path: str, object_id: str) -> None:
        del object_id  # the path names it
        rule = {"entry_protocol": "tcp", "entry_port": 8443}
        rule |= {"target_protocol": "tcp", "target_port": 8443}
        self._call("POST", f"{path}/forwarding_rules", {"forwarding_rules": [rule]})

    def _add_firewall_rule(self, path: str, object_id: str) -> None:
        del object_id  # the path names it
        inbound = {"protocol": "tcp", "ports": "8443", "sources": {"addresses": ["0.0.0.0/0"]}}
        self._call("POST", f"{path}/rules", {"inbound_rules": [inbound]})
        self._skip(self._latencies().firewall)

    def _describe_vpc(self, path: str, object_id: str) -> None:
        del object_id  # the path names it
        self._call("PATCH", path, {"description": "changed outside atlas"})

    # -- helpers -------------------------------------------------------------------------------

    def _latencies(self) -> Latencies:
        return self._emulator.config.latencies

    def _skip(self, latency: float) -> None:
        """Move the emulator past a transition of ``latency`` (unscaled) seconds."""
        self._clock.skip(self._emulator.config.scaled(latency) + 0.001)

    def _action(self, path: str, body: dict[str, Any], latency: float) -> None:
        self._call("POST", path, body)
        self._skip(latency)

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        missing_ok: bool = False,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {_OUTSIDE_TOKEN}"}
        request = httpx.Request(method, _BASE + path, json=body, headers=headers)
        response = self._emulator.handle(request)
        if response.status_code == 404 and missing_ok:
            return response
        if response.status_code >= 400:
            raise RuntimeError(
                f"the emulator refused {method} {path} made outside atlas: "
                f"{response.status_code} {response.text}"
            )
        return response


def _kind(kind: str) -> str:
    if kind not in CREATE_PATHS:
        known = ", ".join(CREATE_PATHS)
        raise ValueError(f"DigitalOcean has no kind {kind!r}; it has {known}")
    return kind


def _path(kind: str) -> str:
    return CREATE_PATHS[_kind(kind)]
