"""Discover and import on DigitalOcean: objects made directly through the API (no atlas tags,
their own names) are listed with their specifications, read back by id for an import, and
then read, polled, updated and deleted by their ids."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from atlas.exceptions import ProviderOperationError
from atlas.model.cloud import Owner
from atlas.model.infrastructure import ResourceSpec
from atlas.providers import FoundResource, ProviderRegistry, StepContext
from atlas.spec.converter import make_converter
from atlas_digitalocean.emulator import Emulator, ManualClock
from atlas_digitalocean.provider import DigitalOceanProvider
from atlas_digitalocean.sandbox import make_sandbox
from tests.atlas_digitalocean.provider.conftest import TOKEN, spec_of

API = "https://api.digitalocean.com"


async def by_hand(emulator: Emulator, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One request as a person would send it (curl, the control panel): no atlas involved."""
    async with httpx.AsyncClient(
        transport=emulator.transport(),
        base_url=API,
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        response = await client.post(path, json=body)
    assert response.status_code < 300, response.text
    out: dict[str, Any] = response.json()
    return out


async def hand_droplet(emulator: Emulator, name: str, region: str = "nyc3", **extra: Any) -> str:
    body = {"name": name, "region": region, "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}
    out = await by_hand(emulator, "/v2/droplets", body | extra)
    return str(out["droplet"]["id"])


async def hand_volume(emulator: Emulator, name: str, region: str = "nyc3", **extra: Any) -> str:
    body = {"name": name, "region": region, "size_gigabytes": 20} | extra
    return str((await by_hand(emulator, "/v2/volumes", body))["volume"]["id"])


async def hand_database(emulator: Emulator, name: str, region: str = "nyc3") -> str:
    body = {
        "name": name,
        "region": region,
        "engine": "pg",
        "version": "16",
        "size": "db-s-1vcpu-2gb",
        "num_nodes": 1,
    }
    return str((await by_hand(emulator, "/v2/databases", body))["database"]["id"])


async def settle(emulator: Emulator, clock: ManualClock) -> None:
    """Let every transition finish (droplets boot, clusters come online)."""
    clock.advance(3600)
    emulator.objects("droplets")


async def attach(emulator: Emulator, volume_id: str, droplet_id: str) -> None:
    body = {"type": "attach", "droplet_id": int(droplet_id), "region": "nyc3"}
    await by_hand(emulator, f"/v2/volumes/{volume_id}/actions", body)


@pytest.fixture
async def account(emulator: Emulator, clock: ManualClock) -> dict[str, str]:
    """Two droplets, a volume attached to one of them and a database, all made by hand."""
    ids = {
        "web": await hand_droplet(emulator, "Web.Example.com", tags=["team:ops"]),
        "worker": await hand_droplet(emulator, "worker", ipv6=True, monitoring=True),
        "data": await hand_volume(emulator, "orders-data", description="orders"),
        "db": await hand_database(emulator, "main-pg"),
    }
    await settle(emulator, clock)
    await attach(emulator, ids["data"], ids["worker"])
    await settle(emulator, clock)
    return ids


def structures(registry: ProviderRegistry, found: FoundResource) -> Any:
    """The found specifications as the kind's spec class (what the core prices)."""
    kind = registry.kinds("digitalocean")[found.type]
    return make_converter().structure(dict(found.specifications), kind.spec_class)


async def test_inventory_lists_what_was_made_by_hand(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    account: dict[str, str],
    registry: ProviderRegistry,
    contract_checker: Any,
) -> None:
    emulator.on_exchange.append(contract_checker)
    found = await provider.inventory()
    assert [(f.type, f.name) for f in found] == [
        ("database", "main-pg"),
        ("droplet", "web-example-com"),
        ("droplet", "worker"),
        ("volume", "orders-data"),
    ]
    assert all(f.managed_by is None and f.region == "nyc3" for f in found)
    db, web, worker, data = found
    assert web.ids == (account["web"],)
    assert web.objects[0].name == "Web.Example.com"
    assert web.specifications == {
        "size": "s-1vcpu-1gb",
        "image": "ubuntu-24-04-x64",
        "ssh_keys": [],
        "backups": False,
        "monitoring": False,
        "ipv6": False,
        "vpc": None,  # the region's default VPC is not a resource of the listing
        "user_data": None,
        "count": 1,
    }
    assert worker.specifications["ipv6"] is True
    assert worker.specifications["monitoring"] is True
    assert data.specifications == {
        "size_gigabytes": 20,
        "filesystem_type": None,
        "attach_to": "worker",  # by its found name
        "description": "orders",
    }
    assert db.ids == (account["db"],)
    assert db.specifications == {
        "engine": "pg",
        "size": "db-s-1vcpu-2gb",
        "version": "16",
        "num_nodes": 1,
        "vpc": None,
        "storage_size_mib": None,
    }
    lookup = registry.price_lookup("digitalocean")
    for f in found:  # each is priced from its specifications by the kind's pricer
        price = registry.kinds("digitalocean")[f.type].price
        assert price is not None
        lines = price(structures(registry, f), lookup)
        assert lines
        assert all(line.monthly is not None and line.monthly.amount > 0 for line in lines)
    contract_checker.assert_clean()


async def test_inventory_filters_by_region_and_lists_no_vpc(
    provider: DigitalOceanProvider, emulator: Emulator, clock: ManualClock
) -> None:
    here = await hand_droplet(emulator, "here")
    await hand_droplet(emulator, "there", region="fra1")
    await hand_volume(emulator, "far", region="fra1")
    await settle(emulator, clock)
    assert emulator.objects("vpcs")  # the droplets made their regions' default VPCs
    found = await provider.inventory(region="nyc3")
    assert [(f.type, f.ids) for f in found] == [("droplet", (here,))]
    everything = await provider.inventory()
    assert {f.type for f in everything} == {"droplet", "volume"}  # never a VPC
    assert sorted(f.region for f in everything) == ["fra1", "fra1", "nyc3"]


async def test_names_are_valid_and_unique(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    clock: ManualClock,
    registry: ProviderRegistry,
) -> None:
    first = await hand_droplet(emulator, "app")
    second = await hand_droplet(emulator, "app")  # droplet names need not be unique
    odd = await hand_droplet(emulator, "9-Lives.of.a.very-long-named-machine-indeed")
    await hand_volume(emulator, "app")  # same name as the droplets, another kind
    await settle(emulator, clock)
    found = await provider.inventory()
    names = {f.ids[0]: f.name for f in found if f.type == "droplet"}
    assert names[first] == "app"
    assert names[second] == f"app-{second}"
    assert names[odd] == "lives-of-a-very-long-nam"  # lowercase, from a letter, 24 at most
    volume = next(f for f in found if f.type == "volume")
    assert volume.name == f"app-{volume.ids[0].replace('-', '')[:8]}"
    assert len({f.name for f in found}) == len(found)
    again = await provider.inventory()
    assert [f.name for f in again] == [f.name for f in found]  # deterministic
    # The listing makes a spec that validates, names and all.
    doc = {
        "name": "found",
        "provider": "digitalocean",
        "region": "nyc3",
        "resources": [
            {"type": f.type, "name": f.name, "specifications": dict(f.specifications)}
            for f in found
        ],
    }
    spec = spec_of(registry, *doc["resources"], name="found")  # type: ignore[arg-type]
    assert len(spec.resources) == len(found)


async def test_a_numbered_series_of_like_droplets_is_one_counted_resource(
    provider: DigitalOceanProvider, emulator: Emulator, clock: ManualClock
) -> None:
    series = [await hand_droplet(emulator, f"web-{n}") for n in (2, 1, 3)]
    gap = [await hand_droplet(emulator, f"job-{n}") for n in (1, 3)]  # no job-2: not a series
    unlike = [
        await hand_droplet(emulator, "db-1"),
        await hand_droplet(emulator, "db-2", size="s-2vcpu-4gb"),
    ]
    await settle(emulator, clock)
    found = {f.name: f for f in await provider.inventory()}
    web = found["web"]
    assert web.ids == (series[1], series[0], series[2])  # in index order
    assert web.specifications["count"] == 3
    assert [found[n].ids for n in ("job-1", "job-3")] == [(gap[0],), (gap[1],)]
    assert [found[n].ids for n in ("db-1", "db-2")] == [(unlike[0],), (unlike[1],)]


async def test_atlas_resources_are_listed_as_managed(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    clock: ManualClock,
    owner: Owner,
    registry: ProviderRegistry,
) -> None:
    spec = spec_of(
        registry,
        {
            "type": "droplet",
            "name": "web",
            "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "count": 2},
        },
        {"type": "volume", "name": "data", "specifications": {"size_gigabytes": 10}},
        {
            "type": "database",
            "name": "db",
            "specifications": {"engine": "pg", "size": "db-s-1vcpu-1gb"},
        },
    )
    made = {}
    for res in spec.resources:
        made[res.name] = await provider.create(StepContext(owner, spec, res, made))
    mine = await hand_droplet(emulator, "mine")
    await settle(emulator, clock)
    found = await provider.inventory()
    by_name = {f.name: f for f in found}
    assert set(by_name) == {"web", "data", "db", "mine"}
    for name in ("web", "data", "db"):
        assert by_name[name].managed_by == owner
        assert by_name[name].ids == made[name].ids
    assert by_name["web"].specifications["count"] == 2
    assert by_name["mine"].managed_by is None
    assert by_name["mine"].ids == (mine,)


async def test_read_import_reads_the_ids(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    account: dict[str, str],
    registry: ProviderRegistry,
) -> None:
    listed = {f.name: f for f in await provider.inventory()}
    ids_to_names = {i: f.name for f in listed.values() for i in f.ids}
    for f in listed.values():
        res = ResourceSpec(f.type, f.name, structures(registry, f))
        got = await provider.read_import(res, "nyc3", f.ids, ids_to_names)
        assert got.specifications == f.specifications
        assert got.ids == f.ids
        assert got.managed_by is None
    # A counted resource: several droplets of one spec.
    two = ResourceSpec("droplet", "pair", structures(registry, listed["worker"]))
    pair = await provider.read_import(two, "nyc3", [account["worker"], account["web"]], {})
    assert pair.specifications["count"] == 2
    assert pair.ids == (account["worker"], account["web"])
    # Without a name for the droplet, the volume's attachment is no reference.
    vol = ResourceSpec("volume", "v", structures(registry, listed["orders-data"]))
    alone = await provider.read_import(vol, "nyc3", [account["data"]], {})
    assert alone.specifications["attach_to"] is None


async def test_read_import_refuses_what_it_cannot_adopt(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    clock: ManualClock,
    account: dict[str, str],
    registry: ProviderRegistry,
    contract_checker: Any,
) -> None:
    emulator.on_exchange.append(contract_checker)
    listed = {f.name: f for f in await provider.inventory()}
    droplet = ResourceSpec("droplet", "web", structures(registry, listed["worker"]))
    volume = ResourceSpec("volume", "data", structures(registry, listed["orders-data"]))
    with pytest.raises(ProviderOperationError, match=r"no droplet 999999 in the account"):
        await provider.read_import(droplet, "nyc3", ["999999"], {})
    with pytest.raises(ProviderOperationError, match=rf"{account['data']} is a volume, not a"):
        await provider.read_import(droplet, "nyc3", [account["data"]], {})
    with pytest.raises(ProviderOperationError, match=rf"{account['web']} is a droplet, not a"):
        await provider.read_import(volume, "nyc3", [account["web"]], {})
    with pytest.raises(ProviderOperationError, match=rf"{account['web']} is in nyc3, the spec's"):
        await provider.read_import(droplet, "fra1", [account["web"]], {})
    with pytest.raises(ProviderOperationError, match="one object"):
        await provider.read_import(volume, "nyc3", [account["data"], account["db"]], {})
    with pytest.raises(ProviderOperationError, match="an id twice"):
        await provider.read_import(droplet, "nyc3", [account["web"], account["web"]], {})
    vpc = ResourceSpec("vpc", "net", None)
    with pytest.raises(ProviderOperationError, match="cannot be imported"):
        await provider.read_import(vpc, "nyc3", ["x"], {})
    del clock
    contract_checker.assert_clean()


async def test_imported_droplet_is_read_updated_and_deleted_by_id(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    account: dict[str, str],
    registry: ProviderRegistry,
) -> None:
    spec = spec_of(
        registry,
        {
            "type": "droplet",
            "name": "web",
            "specifications": {"size": "s-1vcpu-2gb", "image": "ubuntu-24-04-x64"},
        },
    )
    found = await provider.read_import(spec.resource("web"), "nyc3", [account["web"]], {})
    state = found.state("web")
    again = await provider.read(owner, state)
    assert again is not None  # not "deleted": read by id
    assert again.ids == state.ids
    [ready] = await provider.wait(owner, [state], timeout=60)
    assert ready.status == "active"

    updated = await provider.update(StepContext(owner, spec, spec.resource("web")), ready)
    [obj] = updated.objects
    assert obj.id == account["web"]
    assert obj.name == "Web.Example.com"  # never renamed
    assert obj.attributes["size"] == "s-1vcpu-2gb"
    assert set(obj.attributes["tags"]) == {"team:ops", "env:test"}  # its own kept, no atlas:
    assert emulator.log.count("POST /v2/droplets") == 2  # the two made by hand
    assert provider.drift(spec, spec.resource("web"), updated) == []

    three = spec_of(
        registry,
        {
            "type": "droplet",
            "name": "web",
            "specifications": {"size": "s-1vcpu-2gb", "image": "ubuntu-24-04-x64", "count": 3},
        },
    )
    with pytest.raises(ProviderOperationError, match="count cannot become 3"):
        await provider.update(StepContext(owner, three, three.resource("web")), updated)

    await provider.delete(owner, updated)
    assert await provider.read(owner, updated) is None
    assert emulator.log.count("DELETE /v2/droplets") == 0  # by id, not by tag
    assert emulator.log.count("DELETE /v2/droplets/{droplet_id}") == 1
    left = {str(d["id"]) for d in emulator.objects("droplets")}
    assert left == {account["worker"]}  # only the one asked for went


async def test_imported_volume_grows_and_attaches_by_id(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    account: dict[str, str],
    registry: ProviderRegistry,
) -> None:
    droplet = {
        "type": "droplet",
        "name": "web",
        "specifications": {"size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"},
    }
    volume = {
        "type": "volume",
        "name": "data",
        # A filesystem type is never held against an imported volume (create_only).
        "specifications": {"size_gigabytes": 30, "attach_to": "web", "filesystem_type": "xfs"},
    }
    spec = spec_of(registry, droplet, volume, tags={})
    names = {account["web"]: "web"}
    web = (await provider.read_import(spec.resource("web"), "nyc3", [account["web"]], {})).state()
    found = await provider.read_import(spec.resource("data"), "nyc3", [account["data"]], names)
    assert found.specifications["attach_to"] is None  # attached to worker, not in the spec
    state = found.state()
    assert await provider.read(owner, state) is not None
    ctx = StepContext(owner, spec, spec.resource("data"), {"web": web})
    updated = await provider.update(ctx, state)
    assert updated.attribute("size_gigabytes") == 30
    assert updated.attribute("droplet_ids") == [account["web"]]
    assert updated.objects[0].name == "orders-data"
    assert updated.attribute("tags") == []
    await provider.delete(owner, updated)
    assert await provider.read(owner, updated) is None
    assert {str(v["id"]) for v in emulator.objects("volumes")} == set()


async def test_imported_database_resizes_and_is_polled_by_id(
    provider: DigitalOceanProvider,
    emulator: Emulator,
    owner: Owner,
    account: dict[str, str],
    registry: ProviderRegistry,
) -> None:
    spec = spec_of(
        registry,
        {
            "type": "database",
            "name": "db",
            "specifications": {"engine": "pg", "version": "16", "size": "db-s-2vcpu-4gb"},
        },
    )
    found = await provider.read_import(spec.resource("db"), "nyc3", [account["db"]], {})
    state = found.state()
    assert (await provider.read(owner, state)) is not None
    updated = await provider.update(StepContext(owner, spec, spec.resource("db")), state)
    [ready] = await provider.wait(owner, [updated], timeout=3600)  # polled by id
    assert ready.status == "active"
    assert ready.attribute("size") == "db-s-2vcpu-4gb"
    assert ready.objects[0].name == "main-pg"
    await provider.delete(owner, ready)
    assert emulator.objects("databases") == []


async def test_sandbox_makes_resources_by_hand() -> None:
    sandbox = make_sandbox()
    assert sandbox.unmanaged is not None
    try:
        made = {
            kind: await sandbox.unmanaged(kind, f"hand-{kind}")
            for kind in ("droplet", "volume", "database")
        }
        assert len(made["droplet"]) == 3  # the sample's count
        found = await sandbox.provider.inventory(region=sandbox.region)
        assert all(f.managed_by is None for f in found)
        assert sorted(i for f in found for i in f.ids) == sorted(
            i for ids in made.values() for i in ids
        )
        # A numbered series of like droplets is listed as the one counted resource it is.
        [droplets] = [f for f in found if f.type == "droplet"]
        assert (droplets.name, droplets.specifications["count"]) == ("hand-droplet", 3)
        for f in found:
            assert not any(t.startswith("atlas:") for o in f.objects for t in o.attributes["tags"])
    finally:
        await sandbox.provider.aclose()


def test_importable_kinds_declare_what_cannot_be_read_back(registry: ProviderRegistry) -> None:
    declared = registry.kinds("digitalocean")
    kinds = {k: declared[k] for k in ("droplet", "volume", "database")}
    assert all(k.importable for k in kinds.values())
    assert kinds["droplet"].create_only == {"image", "ssh_keys", "user_data"}
    assert kinds["volume"].create_only == {"filesystem_type"}
    for other in ("vpc", "firewall", "load_balancer"):
        assert not declared[other].importable
