"""Finding things by their marks, and creating many at once."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.model.cloud import CloudObject
from atlas.providers.declarations import KindSample
from atlas.testing.kit import SUBJECT, Kit


def test_discover_finds_exactly_this_owners(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    other = atlas_kit.new_owner()
    mine = atlas_kit.run(atlas_kit.build(atlas_sample))
    theirs = atlas_kit.run(atlas_kit.build(atlas_sample, owner=other))
    found = atlas_kit.run(atlas_kit.discovered(atlas_sample.type))
    assert sorted(o.id for o in found) == sorted(mine.state.ids)
    found = atlas_kit.run(atlas_kit.discovered(atlas_sample.type, other))
    assert sorted(o.id for o in found) == sorted(theirs.state.ids)
    everything = atlas_kit.run(atlas_kit.provider.discover(atlas_kit.owner))
    assert sorted(s.name for s in everything) == sorted(r.name for r in mine.spec.resources)
    assert not {i for s in everything for i in s.ids} & set(theirs.state.ids)


def test_discover_finds_nothing_for_a_new_owner(atlas_kit: Kit) -> None:
    assert atlas_kit.run(atlas_kit.provider.discover(atlas_kit.new_owner())) == []


def test_counted_create_reports_every_batch(
    atlas_kit: Kit, atlas_counted_sample: KindSample
) -> None:
    sample = atlas_counted_sample
    batches: list[list[str]] = []

    async def on_created(name: str, objects: Sequence[CloudObject]) -> None:
        assert name == SUBJECT
        batches.append([o.id for o in objects])

    built = atlas_kit.run(atlas_kit.build(sample, on_created=on_created, wait=False))
    reported = [i for batch in batches for i in batch]
    assert all(batches), "a batch reported no ids"
    assert len(reported) == len(set(reported)) == sample.count
    assert sorted(reported) == sorted(built.state.ids)
    ready = atlas_kit.run(atlas_kit.wait(built.state))
    assert len(ready.objects) == sample.count
    assert len(atlas_kit.run(atlas_kit.discovered(sample.type))) == sample.count
