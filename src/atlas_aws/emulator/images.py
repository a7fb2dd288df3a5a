"""The public images a fresh account sees in every region, put into moto's backends.

Real AWS accounts see Canonical's, Amazon's and Debian's public images from their first day;
moto ships only a few old ones. For every alias of the offline offerings (and each
architecture it is published for) one image is registered per region, named as its
publisher names them, so that atlas resolves aliases through ``DescribeImages`` here
exactly as it does on AWS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

from atlas_aws.prices import load_offerings

__all__ = ["seed_images"]

#: The owner ids behind owner aliases.
OWNER_IDS = {"amazon": "137112411691"}
_RELEASED = dt.datetime(2026, 11, 15, tzinfo=dt.UTC)
_SEEDED: set[tuple[str, str]] = set()
_LOCK = threading.Lock()


def image_id(region: str, alias: str, arch: str) -> str:
    digest = hashlib.sha256(f"{region}/{alias}/{arch}".encode()).hexdigest()
    return f"ami-{digest[:17]}"


def seed_images(account_id: str, region: str) -> None:
    """Register the public images in ``account_id``'s view of ``region`` (once)."""
    with _LOCK:
        if (account_id, region) in _SEEDED:
            return
        _SEEDED.add((account_id, region))
    from moto.ec2.models import ec2_backends  # noqa: PLC0415 - moto loads with the emulator
    from moto.ec2.models.amis import Ami  # noqa: PLC0415

    backend = ec2_backends[account_id][region]
    for alias in load_offerings().images.values():
        owner_alias = alias.owner if not alias.owner.isdigit() else None
        owner_id = OWNER_IDS.get(alias.owner, alias.owner)
        for arch in ("x86_64", "arm64"):
            pattern = alias.name_filter(arch)
            if pattern is None:
                continue
            name = pattern.replace("*", "20261115")
            ami = image_id(region, alias.name, arch)
            backend.amis[ami] = Ami(
                backend,
                ami_id=ami,
                name=name,
                description=f"{alias.name} ({arch})",
                owner_id=owner_id,
                owner_alias=owner_alias,
                public=True,
                virtualization_type="hvm",
                architecture=arch,
                creation_date=_RELEASED,
                root_device_type="ebs",
                root_device_name="/dev/sda1",
                hypervisor="xen",
                region_name=f"{region}a",
            )
