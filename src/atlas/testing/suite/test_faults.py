"""Crash safety: creates that end in doubt, creates whose answer was lost, rate limits."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from atlas.model.cloud import CloudObject
from atlas.providers.contract import StepContext
from atlas.providers.declarations import KindSample
from atlas.testing.kit import SUBJECT, Kit


@pytest.mark.parametrize("fault", ["fail_after_apply", "drop_after_apply"])
def test_a_create_in_doubt_ends_with_what_was_asked(
    atlas_kit: Kit, atlas_sample: KindSample, fault: str
) -> None:
    """The create is carried out and answered with an error (or not at all): the provider
    must find what it made and adopt it, never make it twice."""
    spec = atlas_kit.spec(atlas_sample)
    deps = atlas_kit.run(atlas_kit.needs(spec))
    reported: list[str] = []

    async def on_created(_name: str, objects: Sequence[CloudObject]) -> None:
        reported.extend(o.id for o in objects)

    getattr(atlas_kit.faults, fault)(atlas_sample.type)
    ctx = StepContext(atlas_kit.owner, spec, spec.resource(SUBJECT), deps)
    state = atlas_kit.run(atlas_kit.provider.create(ctx, on_created=on_created))
    assert atlas_kit.faults.armed() == 0, "the fault never struck: no create went that way"
    ready = atlas_kit.run(atlas_kit.wait(state))
    found = atlas_kit.run(atlas_kit.discovered(atlas_sample.type))
    assert len(found) == atlas_sample.count, (
        f"{len(found)} objects for a create of {atlas_sample.count}"
    )
    assert sorted(o.id for o in found) == sorted(ready.ids)
    assert sorted(set(reported)) == sorted(ready.ids)


def test_a_create_whose_answer_was_lost_is_adopted_on_resume(
    atlas_kit: Kit, atlas_sample: KindSample
) -> None:
    """The first create's answer never reached the journal (a crash): the resumed create
    (``recover=True``) adopts what it made and reports it, and makes nothing more."""
    spec = atlas_kit.spec(atlas_sample)
    deps = atlas_kit.run(atlas_kit.needs(spec))
    ctx = StepContext(atlas_kit.owner, spec, spec.resource(SUBJECT), deps)
    lost = atlas_kit.run(atlas_kit.provider.create(ctx)).ids
    reported: list[str] = []

    async def on_created(_name: str, objects: Sequence[CloudObject]) -> None:
        reported.extend(o.id for o in objects)

    again = atlas_kit.run(atlas_kit.provider.create(ctx, on_created=on_created, recover=True))
    assert sorted(again.ids) == sorted(lost), "the resume made new objects"
    assert sorted(set(reported)) == sorted(lost), "adopted ids must reach the journal"
    atlas_kit.run(atlas_kit.wait(again))
    assert len(atlas_kit.run(atlas_kit.discovered(atlas_sample.type))) == atlas_sample.count


def test_rate_limit_answers_are_honoured(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    spec = atlas_kit.spec(atlas_sample)
    deps = atlas_kit.run(atlas_kit.needs(spec))
    atlas_kit.faults.throttle(times=2)
    ctx = StepContext(atlas_kit.owner, spec, spec.resource(SUBJECT), deps)
    state = atlas_kit.run(atlas_kit.provider.create(ctx))
    assert atlas_kit.faults.armed() == 0
    ready = atlas_kit.run(atlas_kit.wait(state))
    found = atlas_kit.run(atlas_kit.discovered(atlas_sample.type))
    assert sorted(o.id for o in found) == sorted(ready.ids)
    assert len(found) == atlas_sample.count
