"""Every kind, one step at a time: create, wait, read, drift, update, delete."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.model.cloud import CloudObject
from atlas.providers.contract import StepContext
from atlas.providers.declarations import KindSample
from atlas.testing.kit import SUBJECT, Kit


def test_create_reports_ids_then_becomes_active(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    reported: list[str] = []

    async def on_created(name: str, objects: Sequence[CloudObject]) -> None:
        assert name == SUBJECT
        reported.extend(o.id for o in objects)

    built = atlas_kit.run(atlas_kit.build(atlas_sample, on_created=on_created, wait=False))
    assert built.state.type == atlas_sample.type
    assert built.state.name == SUBJECT
    assert len(built.state.objects) == atlas_sample.count
    assert sorted(reported) == sorted(built.state.ids), "every id is reported, once"
    ready = atlas_kit.run(atlas_kit.wait(built.state))
    assert ready.ids == built.state.ids
    assert {o.status for o in ready.objects} == {"active"}


def test_read_shows_what_was_made(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    built = atlas_kit.run(atlas_kit.build(atlas_sample))
    fresh = atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, built.state))
    assert fresh is not None
    assert (fresh.type, fresh.name) == (atlas_sample.type, SUBJECT)
    assert sorted(fresh.ids) == sorted(built.state.ids)
    assert fresh.status == "active"


def test_no_drift_right_after_create(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    built = atlas_kit.run(atlas_kit.build(atlas_sample))
    fresh = atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, built.state))
    assert fresh is not None
    assert atlas_kit.provider.drift(built.spec, built.spec.resource(SUBJECT), fresh) == []


def test_drift_after_change_outside(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    built = atlas_kit.run(atlas_kit.build(atlas_sample))
    atlas_kit.faults.change_outside(atlas_sample.type, built.state.ids[0])
    fresh = atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, built.state))
    assert fresh is not None, "a change is not a delete"
    drift = atlas_kit.provider.drift(built.spec, built.spec.resource(SUBJECT), fresh)
    assert drift, "a change made outside atlas goes unreported"
    assert all(isinstance(d, str) and d for d in drift)


def test_read_after_delete_outside_is_none(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    built = atlas_kit.run(atlas_kit.build(atlas_sample))
    for object_id in built.state.ids:
        atlas_kit.faults.delete_outside(atlas_sample.type, object_id)
    assert atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, built.state)) is None


def test_update_in_place(atlas_kit: Kit, atlas_updatable_sample: KindSample) -> None:
    sample = atlas_updatable_sample
    assert sample.update is not None
    built = atlas_kit.run(atlas_kit.build(sample))
    changed = atlas_kit.spec(sample, sample.update)
    ctx = StepContext(atlas_kit.owner, changed, changed.resource(SUBJECT), built.deps)
    updated = atlas_kit.run(atlas_kit.provider.update(ctx, built.state))
    ready = atlas_kit.run(atlas_kit.wait(updated))
    assert sorted(ready.ids) == sorted(built.state.ids), "in place: the same objects"
    fresh = atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, ready))
    assert fresh is not None
    provider = atlas_kit.provider
    assert provider.drift(changed, changed.resource(SUBJECT), fresh) == []
    assert provider.drift(built.spec, built.spec.resource(SUBJECT), fresh), (
        "after the update the objects still match the old specifications"
    )


def test_delete_leaves_nothing(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    built = atlas_kit.run(atlas_kit.build(atlas_sample))
    atlas_kit.run(atlas_kit.provider.delete(atlas_kit.owner, built.state))
    assert atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, built.state)) is None
    assert atlas_kit.run(atlas_kit.discovered(atlas_sample.type)) == []


def test_delete_of_something_already_gone(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    built = atlas_kit.run(atlas_kit.build(atlas_sample))
    for object_id in built.state.ids:
        atlas_kit.faults.delete_outside(atlas_sample.type, object_id)
    atlas_kit.run(atlas_kit.provider.delete(atlas_kit.owner, built.state))
    atlas_kit.run(atlas_kit.provider.delete(atlas_kit.owner, built.state))  # and once more
    assert atlas_kit.run(atlas_kit.provider.read(atlas_kit.owner, built.state)) is None
