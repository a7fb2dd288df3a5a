"""The emulated cloud's fixed catalog (sizes, regions, images, account) and its read endpoints.

Sizes and prices are the emulator's own on purpose: the emulator plays DigitalOcean and must
stay an independent oracle for atlas's price catalog, so it never reads ``prices.toml``. Public
images are the one exception: their slugs come from the sourced list in ``offerings.toml``
(read as plain data), so the emulator offers what the cited sources say DigitalOcean offers. Prices
are DigitalOcean's current list prices (since the 2022-07-01 repricing); ``price_hourly`` is
``price_monthly / 672`` rounded to five decimals, which is how the API reports it.
"""

from __future__ import annotations

import tomllib
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

import attrs

from atlas_digitalocean.emulator import validate
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, paginate
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import State

HOURS_PER_MONTH = 672
_HOURLY_PLACES = Decimal("0.00001")
ROUTES = Routes()

REGION_NAMES = {
    "nyc1": "New York 1",
    "nyc2": "New York 2",
    "nyc3": "New York 3",
    "ams2": "Amsterdam 2",
    "ams3": "Amsterdam 3",
    "sfo1": "San Francisco 1",
    "sfo2": "San Francisco 2",
    "sfo3": "San Francisco 3",
    "sgp1": "Singapore 1",
    "lon1": "London 1",
    "fra1": "Frankfurt 1",
    "tor1": "Toronto 1",
    "blr1": "Bangalore 1",
    "syd1": "Sydney 1",
    "atl1": "Atlanta 1",
    "ric1": "Richmond 1",
}
# Legacy datacenters that still list but take no new resources.
_CLOSED_REGIONS = frozenset({"nyc2", "ams2", "sfo1"})
OPEN_REGIONS = tuple(slug for slug in REGION_NAMES if slug not in _CLOSED_REGIONS)
_GENERAL_PURPOSE_REGIONS = ("nyc1", "nyc3", "sfo3", "ams3", "fra1", "lon1", "sgp1", "tor1", "blr1")
_REGION_FEATURES = ("backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer")
# The spec enumerates image regions and its list predates atl1 and ric1; image objects
# keep to it so responses stay valid against the published schema.
_SPEC_IMAGE_REGIONS = frozenset(REGION_NAMES) - {"atl1", "ric1"}


@attrs.frozen
class Size:
    slug: str
    vcpus: int
    memory: int
    disk: int
    transfer: float
    price_monthly: Decimal
    description: str
    regions: tuple[str, ...] = OPEN_REGIONS

    @property
    def price_hourly(self) -> Decimal:
        return (self.price_monthly / HOURS_PER_MONTH).quantize(_HOURLY_PLACES, ROUND_HALF_UP)

    def to_json(self) -> JSON:
        return {
            "slug": self.slug,
            "memory": self.memory,
            "vcpus": self.vcpus,
            "disk": self.disk,
            "transfer": self.transfer,
            "price_monthly": float(self.price_monthly),
            "price_hourly": float(self.price_hourly),
            "regions": list(self.regions),
            "available": True,
            "description": self.description,
            "disk_info": [{"type": "local", "size": {"amount": self.disk, "unit": "gib"}}],
        }


def _shared_cpu_sizes() -> list[Size]:
    # (slug stem, vCPUs, MiB, disk GB, transfer TB, basic $/mo, premium $/mo or None)
    ladder = (
        ("s-1vcpu-512mb-10gb", 1, 512, 10, 0.5, 4, None),
        ("s-1vcpu-1gb", 1, 1024, 25, 1.0, 6, 7),
        ("s-1vcpu-2gb", 1, 2048, 50, 2.0, 12, 14),
        ("s-2vcpu-2gb", 2, 2048, 60, 3.0, 18, 21),
        ("s-2vcpu-4gb", 2, 4096, 80, 4.0, 24, 28),
        ("s-4vcpu-8gb", 4, 8192, 160, 5.0, 48, 56),
        ("s-8vcpu-16gb", 8, 16384, 320, 6.0, 96, 112),
    )
    sizes = []
    for stem, vcpus, memory, disk, transfer, basic, premium in ladder:
        sizes.append(Size(stem, vcpus, memory, disk, transfer, Decimal(basic), "Basic"))
        if premium is not None:
            for suffix, label in (("amd", "Premium AMD"), ("intel", "Premium Intel")):
                slug = f"{stem}-{suffix}"
                sizes.append(Size(slug, vcpus, memory, disk, transfer, Decimal(premium), label))
    return sizes


SIZES: dict[str, Size] = {
    size.slug: size
    for size in [
        *_shared_cpu_sizes(),
        Size(
            "g-2vcpu-8gb", 2, 8192, 25, 4.0, Decimal(63), "General Purpose",
            _GENERAL_PURPOSE_REGIONS,
        ),
    ]
}  # fmt: skip


@attrs.frozen
class Image:
    id: int
    slug: str
    name: str
    distribution: str
    min_disk_size: int
    size_gigabytes: float
    created_at: str

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "distribution": self.distribution,
            "slug": self.slug,
            "public": True,
            "regions": [slug for slug in OPEN_REGIONS if slug in _SPEC_IMAGE_REGIONS],
            "created_at": self.created_at,
            "min_disk_size": self.min_disk_size,
            "type": "base",
            "size_gigabytes": self.size_gigabytes,
            "description": f"{self.distribution} {self.name}",
            "tags": [],
            "status": "available",
            "error_message": "",
        }


#: The published schema's ``distribution`` enum; a distribution outside it (AlmaLinux) is
#: reported as ``Unknown``, as the schema says of values it does not list.
_SPEC_DISTRIBUTIONS = frozenset({
    "Arch Linux", "CentOS", "CoreOS", "Debian", "Fedora", "Fedora Atomic", "FreeBSD", "Gentoo",
    "openSUSE", "RancherOS", "Rocky Linux", "Ubuntu", "Unknown",
})  # fmt: skip
# Build details the list does not give: (id, min_disk_size GB, size GB, created_at). Images
# without an entry get an id after these and _DEFAULT_BUILD.
_BUILDS = {
    "ubuntu-24-04-x64": (170000001, 7, 2.36, "2024-04-25T14:56:49Z"),
    "ubuntu-22-04-x64": (170000002, 7, 2.2, "2022-04-22T12:31:10Z"),
    "debian-12-x64": (170000003, 7, 1.2, "2023-06-12T09:40:21Z"),
    "rockylinux-9-x64": (170000005, 10, 1.6, "2024-05-30T11:12:05Z"),
    "centos-stream-9-x64": (170000006, 10, 1.6, "2024-03-05T08:21:43Z"),
}
_DEFAULT_BUILD = (10, 1.8, "2024-06-01T00:00:00Z")


def _public_images() -> list[Image]:
    """The public distribution images a fresh account sees: the current ones of atlas's
    sourced list (``data/offerings.toml``, read as data so the emulator offers what the
    sources say DigitalOcean offers, not what atlas's checks make of it)."""
    text = resources.files("atlas_digitalocean.data").joinpath("offerings.toml").read_text("utf-8")
    images = []
    for index, entry in enumerate(tomllib.loads(text)["images"]):
        if entry["status"] != "current":
            continue
        slug = str(entry["slug"])
        default = (170000100 + index, *_DEFAULT_BUILD)
        image_id, min_disk, size_gb, created = _BUILDS.get(slug, default)
        distribution = str(entry["distribution"])
        if distribution not in _SPEC_DISTRIBUTIONS:
            distribution = "Unknown"
        images.append(
            Image(image_id, slug, str(entry["name"]), distribution, min_disk, size_gb, created)
        )
    return images


IMAGES: dict[str, Image] = {image.slug: image for image in _public_images()}
_IMAGES_BY_ID = {image.id: image for image in IMAGES.values()}


def find_image(key: object) -> Image | None:
    """An image by slug or numeric id, as the droplet create body allows either."""
    if isinstance(key, str):
        return IMAGES.get(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return _IMAGES_BY_ID.get(key)
    return None


def region_json(slug: str) -> JSON:
    is_open = slug not in _CLOSED_REGIONS
    return {
        "name": REGION_NAMES[slug],
        "slug": slug,
        "features": list(_REGION_FEATURES) if is_open else ["backups", "ipv6", "metadata"],
        "available": is_open,
        "sizes": [size.slug for size in SIZES.values() if slug in size.regions],
    }


def is_open_region(slug: str) -> bool:
    return slug in REGION_NAMES and slug not in _CLOSED_REGIONS


def open_region(body: JSON) -> str:
    """The region a create body names; a 422 unless it takes new resources."""
    region = validate.string(body, "region")
    if not is_open_region(region):
        raise ApiError.unprocessable(f"region {region!r} is not an available region")
    return region


def account_json(state: State) -> JSON:
    return {
        "droplet_limit": state.config.droplet_limit,
        "floating_ip_limit": 3,
        "email": "emulator@example.com",
        "name": "Emulated Account",
        "uuid": state.account_uuid,
        "email_verified": True,
        "status": "active",
        "status_message": "",
        "team": {"uuid": state.team_uuid, "name": "Emulated Team"},
    }


@ROUTES("GET", "/v2/sizes")
def list_sizes(_state: State, call: Call) -> Reply:
    return Reply(200, paginate(call, "sizes", list(SIZES.values()), Size.to_json))


@ROUTES("GET", "/v2/images")
def list_images(_state: State, call: Call) -> Reply:
    """The public distribution images; a fresh account has no private ones (snapshots,
    custom images, backups) and the emulator offers no one-click applications."""
    kind = call.query.get("type")
    if kind not in (None, "distribution", "application"):
        raise ApiError.bad_request("type must be distribution or application")
    private = call.query.get("private") in ("true", "1")
    tag = call.query.get("tag_name")
    shown = [] if private or tag or kind == "application" else list(IMAGES.values())
    return Reply(200, paginate(call, "images", shown, Image.to_json))


@ROUTES("GET", "/v2/regions")
def list_regions(_state: State, call: Call) -> Reply:
    return Reply(200, paginate(call, "regions", list(REGION_NAMES), region_json))


@ROUTES("GET", "/v2/account")
def get_account(state: State, _call: Call) -> Reply:
    return Reply(200, {"account": account_json(state)})
