"""The emulator's own records of what exists; the wire format is rendered from these."""

from __future__ import annotations

from typing import Any

import attrs

JSON = dict[str, Any]


@attrs.define
class Action:
    id: int
    type: str
    resource_type: str
    resource_id: int | None
    region: str
    started_at: float
    completed_at: float | None = None
    status: str = "in-progress"


@attrs.define
class Droplet:
    id: int
    name: str
    region: str
    size: str
    image: str
    created_at: float
    vpc_uuid: str
    private_ip: str
    public_ip: str | None
    ipv6_ip: str | None
    disk: int
    tags: list[str]
    volume_ids: list[str]
    backups: bool
    monitoring: bool
    create_action: int = 0
    status: str = "new"
    # Addresses are allocated at create but, as on DigitalOcean, only shown once booted.
    booted: bool = False
    pending_action: int | None = None


@attrs.define
class Volume:
    id: str
    name: str
    region: str
    size_gigabytes: int
    description: str
    created_at: float
    filesystem_type: str
    filesystem_label: str
    tags: list[str]
    droplet_ids: list[int] = attrs.field(factory=list)
    pending_action: int | None = None
    # Volume actions carry no resource id on the wire, so the volume keeps its own list.
    action_ids: list[int] = attrs.field(factory=list)


@attrs.define
class Database:
    id: str
    name: str
    engine: str
    version: str
    num_nodes: int
    size: str
    region: str
    created_at: float
    private_network_uuid: str
    tags: list[str]
    password: str
    project_id: str
    storage_size_mib: int
    status: str = "creating"


@attrs.define
class LoadBalancer:
    id: str
    name: str
    region: str
    created_at: float
    vpc_uuid: str
    project_id: str
    # The full client-settable representation, normalised with defaults filled in.
    settings: JSON
    droplet_ids: list[int]
    tag: str
    ip: str = ""
    status: str = "new"


@attrs.define
class Firewall:
    id: str
    name: str
    created_at: float
    inbound_rules: list[JSON]
    outbound_rules: list[JSON]
    droplet_ids: list[int]
    tags: list[str]
    status: str = "waiting"
    pending_changes: list[JSON] = attrs.field(factory=list)
    # Bumped by every change, so a completion scheduled for an older change does not
    # settle a newer one early.
    generation: int = 0


@attrs.define
class Vpc:
    id: str
    name: str
    region: str
    description: str
    ip_range: str
    created_at: float
    default: bool
    # Default VPCs the emulator made on a client's behalf; they do not make it "non-empty".
    auto_created: bool
    next_host: int = 2
