"""Discover and import: what exists outside atlas is listed, adopted with ``import:`` without
a create, and left in place by destroy unless imported resources are included.

Run for every importable kind that has a sample, on sandboxes that can make a resource by
hand (:attr:`Sandbox.unmanaged <atlas.providers.Sandbox.unmanaged>`); skipped otherwise. What
the resource made by hand refers to (a subnet's network, made by hand with it) is imported
with it, as ``atlas discover`` would write it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from atlas.facade import AsyncAtlas
from atlas.providers.contract import FoundResource
from atlas.providers.declarations import KindSample
from atlas.spec.references import raw_references
from atlas.store import SQLiteStore
from atlas.testing.kit import KIT_TAGS, SUBJECT, Kit


class _CountingProvider:
    """Counts the provider's creates, passing every call through."""

    def __init__(self, kit: Kit) -> None:
        self.inner = kit.provider
        self.creates = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        self.creates += 1
        return await self.inner.create(*args, **kwargs)


def _importable(kit: Kit, sample: KindSample | None) -> KindSample:
    """The sample (parametrised over the importable kinds' samples), or a skip saying why
    there is none."""
    kinds = kit.target.registry.kinds(kit.target.name)
    if not any(k.importable for k in kinds.values()):
        pytest.skip(f"the {kit.target.name} provider declares no importable kind")
    if kit.sandbox.unmanaged is None:
        pytest.skip(f"the {kit.target.name} sandbox cannot make a resource by hand (unmanaged)")
    if sample is None:
        pytest.skip(f"the {kit.target.name} sandbox has no sample of an importable kind")
    return sample


def _found(inventory: Sequence[FoundResource], ids: Sequence[str]) -> FoundResource:
    """The resource of the inventory that holds the objects made by hand."""
    hits = [f for f in inventory if set(f.ids) & set(ids)]
    assert hits, f"inventory does not list the resource made by hand ({', '.join(ids)})"
    assert len(hits) == 1, f"the objects made by hand are listed as {len(hits)} resources"
    return hits[0]


async def _made_by_hand(kit: Kit, sample: KindSample) -> tuple[FoundResource, list[FoundResource]]:
    """The resource made by hand as the inventory lists it, and what it refers to (made by
    hand with it: a subnet needs its network), as listed too."""
    assert kit.sandbox.unmanaged is not None
    ids = list(await kit.sandbox.unmanaged(sample.type, f"byhand-{kit.owner.infrastructure}"))
    assert ids, "unmanaged returned no provider id"
    listed = await kit.provider.inventory(region=kit.sandbox.region)
    found = _found(listed, ids)
    assert found.type == sample.type
    assert found.managed_by is None, "a resource made by hand is listed as atlas's"
    assert found.region == kit.sandbox.region
    needed = _referred(kit, found, listed)
    assert all(n.managed_by is None for n in needed), "it refers to a resource of atlas's"
    return found, needed


def _referred(
    kit: Kit, found: FoundResource, listed: Sequence[FoundResource]
) -> list[FoundResource]:
    """The resources of ``listed`` that ``found`` refers to, directly or not, those referred
    to first; each reference must name one of them."""
    kinds = kit.target.registry.kinds(kit.target.name)
    by_name = {f.name: f for f in listed}
    out: list[FoundResource] = []

    def visit(f: FoundResource) -> None:
        for ref in raw_references(dict(f.specifications), kinds[f.type].spec_class):
            target = by_name.get(ref.target)
            assert target is not None, f"{f.name} refers to {ref.target!r}, which is not listed"
            if target not in out:
                visit(target)
                out.append(target)

    visit(found)
    return out


def _entry(found: FoundResource, name: str) -> dict[str, Any]:
    ids = found.ids
    return {
        "type": found.type,
        "name": name,
        "specifications": dict(found.specifications),
        "import": ids[0] if len(ids) == 1 else list(ids),
    }


def _import_doc(kit: Kit, found: FoundResource, needed: Sequence[FoundResource]) -> dict[str, Any]:
    return {
        "name": kit.owner.infrastructure,
        "provider": kit.target.name,
        "region": kit.sandbox.region,
        "tags": dict(KIT_TAGS),
        "resources": [*(_entry(n, n.name) for n in needed), _entry(found, SUBJECT)],
    }


def _atlas(kit: Kit, provider: _CountingProvider) -> AsyncAtlas:
    return AsyncAtlas(
        store=SQLiteStore(":memory:"),
        registry=kit.target.registry,
        workspace=kit.owner.workspace,
        providers={kit.target.name: provider},  # type: ignore[dict-item]
    )


def test_inventory_lists_a_resource_made_by_hand(
    atlas_kit: Kit, atlas_importable_sample: KindSample | None
) -> None:
    sample = _importable(atlas_kit, atlas_importable_sample)
    found, _ = atlas_kit.run(_made_by_hand(atlas_kit, sample))
    mine = atlas_kit.run(atlas_kit.build(sample))
    listed = atlas_kit.run(atlas_kit.provider.inventory(region=atlas_kit.sandbox.region))
    ours = _found(listed, mine.state.ids)
    assert ours.managed_by is not None, "a resource atlas made is listed as nobody's"
    assert found.ids == _found(listed, found.ids).ids


def test_import_adopts_without_creating_and_destroy_leaves_it(
    atlas_kit: Kit, atlas_importable_sample: KindSample | None
) -> None:
    sample = _importable(atlas_kit, atlas_importable_sample)
    kit = atlas_kit

    async def scenario() -> None:
        found, needed = await _made_by_hand(kit, sample)
        doc = _import_doc(kit, found, needed)
        counting = _CountingProvider(kit)
        async with _atlas(kit, counting) as atlas:
            plan = await atlas.plan(doc)
            assert [c.action for c in plan.changes] == ["import"] * len(doc["resources"])
            for change in plan.changes:
                assert change.needs_replacement is None, change.needs_replacement
            op = await atlas.apply(doc)
            assert op.status == "completed", op.error
            assert counting.creates == 0, "an import called create"
            records = atlas.get(doc["name"]).resources
            assert all(r.imported for r in records)
            [record] = [r for r in records if r.name == SUBJECT]
            assert sorted(record.state().ids) == sorted(found.ids)
            assert (await atlas.plan(doc)).empty, "a second plan after an import is not empty"

            kept = await atlas.destroy(doc["name"])
            assert kept.status == "completed", kept.error
            assert {s.action for s in atlas.store.steps(kept.id)} == {"release"}
            after = await kit.provider.inventory(region=kit.sandbox.region)
            assert _found(after, found.ids), "destroy deleted an imported resource"

            again = await atlas.apply(doc)
            assert again.status == "completed", again.error
            gone = await atlas.destroy(doc["name"], include_imported=True)
            assert gone.status == "completed", gone.error
            left = await kit.provider.inventory(region=kit.sandbox.region)
            assert not [f for f in left if set(f.ids) & set(found.ids)], (
                "destroy --include-imported left the imported resource"
            )
            assert counting.creates == 0

    kit.run(scenario())
