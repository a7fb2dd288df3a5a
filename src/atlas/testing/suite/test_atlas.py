"""The whole lifecycle through :class:`atlas.AsyncAtlas`: apply, plan again, update, destroy."""

from __future__ import annotations

from typing import Any

from atlas.facade import AsyncAtlas
from atlas.providers.declarations import KindSample
from atlas.store import SQLiteStore
from atlas.testing.kit import SUBJECT, Kit, subject_name


def _atlas(kit: Kit, store: SQLiteStore | None = None) -> AsyncAtlas:
    return AsyncAtlas(
        store=store or SQLiteStore(":memory:"),
        registry=kit.target.registry,
        workspace=kit.owner.workspace,
        providers={kit.target.name: kit.provider},
    )


async def _round_trip(kit: Kit, doc: dict[str, Any], update: dict[str, Any] | None) -> None:
    async with _atlas(kit) as atlas:
        op = await atlas.apply(doc)
        assert op.status == "completed", op.error
        made = {r.name: [o.id for o in r.objects] for r in atlas.get(doc["name"]).resources}
        assert [c.action for c in (await atlas.plan(doc)).changes] == [], "apply is not idempotent"
        if update is not None:
            op = await atlas.apply(update)
            assert op.status == "completed", op.error
            after = {r.name: [o.id for o in r.objects] for r in atlas.get(doc["name"]).resources}
            assert after == made, "an in-place update replaced objects"
            assert [c.action for c in (await atlas.plan(update)).changes] == []
        done = await atlas.destroy(doc["name"])
        assert done.status == "completed", done.error
    assert kit.sandbox.is_empty(), "destroy left objects behind"


def test_lifecycle_through_atlas(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    sample = atlas_sample
    doc = atlas_kit.document([(SUBJECT, sample, sample.specifications)])
    update = None
    if sample.update is not None:
        update = atlas_kit.document([(SUBJECT, sample, sample.update)])
    atlas_kit.run(_round_trip(atlas_kit, doc, update))


def test_every_sample_in_one_infrastructure(atlas_kit: Kit) -> None:
    samples = atlas_kit.sandbox.samples
    doc = atlas_kit.document([(subject_name(s.type), s, s.specifications) for s in samples])
    update = atlas_kit.document(
        [(subject_name(s.type), s, s.update or s.specifications) for s in samples]
    )
    atlas_kit.run(_round_trip(atlas_kit, doc, update))
