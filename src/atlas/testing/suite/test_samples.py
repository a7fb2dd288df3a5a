"""The sandbox itself: a sample for every kind, each a valid spec."""

from __future__ import annotations

from atlas.providers.declarations import KindSample
from atlas.testing.kit import SUBJECT, Kit


def test_every_kind_has_a_sample(atlas_kit: Kit) -> None:
    kinds = set(atlas_kit.target.registry.kinds(atlas_kit.target.name))
    sampled = {s.type for s in atlas_kit.sandbox.samples}
    assert kinds - sampled == set(), "kinds the kit cannot exercise: give each a KindSample"
    assert sampled - kinds == set(), "samples of kinds the provider does not register"


def test_the_sample_is_a_valid_spec(atlas_kit: Kit, atlas_sample: KindSample) -> None:
    spec = atlas_kit.spec(atlas_sample)
    assert spec.resource(SUBJECT).type == atlas_sample.type
    if atlas_sample.update is not None:
        changed = atlas_kit.spec(atlas_sample, atlas_sample.update)
        assert changed.resource(SUBJECT) != spec.resource(SUBJECT), "the update changes nothing"


def test_the_sandbox_starts_empty(atlas_kit: Kit) -> None:
    assert atlas_kit.sandbox.is_empty()
    assert atlas_kit.sandbox.region, "Sandbox.region names the region the samples are valid in"
