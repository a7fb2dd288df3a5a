"""The image list: sourced offline slugs, numeric ids, and the emulator serving the same list."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from typing import Any

import pytest

from atlas import ProviderRegistry, SpecValidationError
from atlas.exceptions import PluginError
from atlas.spec import validate_spec
from atlas_digitalocean.prices import load_offerings, parse_offerings
from tests.atlas_digitalocean.contract import spec_path


def _toml() -> dict[str, Any]:
    text = resources.files("atlas_digitalocean.data").joinpath("offerings.toml").read_text("utf-8")
    return tomllib.loads(text)


def problems(registry: ProviderRegistry, image: object) -> list[tuple[str, str]]:
    doc = {
        "name": "app",
        "provider": "digitalocean",
        "region": "ams3",
        "resources": [
            {
                "type": "droplet",
                "name": "web",
                "specifications": {"size": "s-1vcpu-1gb", "image": image},
            }
        ],
    }
    try:
        validate_spec(doc, registry=registry)
    except SpecValidationError as exc:
        return [(p.path, p.message) for p in exc.problems]
    return []


def test_every_image_names_its_source_status_and_date() -> None:
    data = _toml()
    offer = load_offerings()
    assert len(offer.public_images) == len(data["images"])
    for image in offer.public_images:
        assert image.source in data["sources"], image.slug
        assert data["sources"][image.source]["url"].startswith("https://")
        assert image.status in ("current", "retired")
        assert isinstance(image.seen, dt.date)
    assert set(offer.images).isdisjoint(offer.retired_images)
    assert {"ubuntu-24-04-x64", "debian-12-x64", "almalinux-9-x64"} <= set(offer.images)
    assert "ubuntu-16-04-x64" in offer.retired_images


def test_slugs_credited_to_the_openapi_document_are_in_it() -> None:
    path = spec_path()
    if not path.exists():
        pytest.skip(f"no OpenAPI document at {path}")
    text = path.read_text("utf-8")
    data = _toml()
    credited = [
        i["slug"]
        for i in data["images"]
        if i["source"] == "openapi-examples" or "openapi-examples" in i.get("note", "")
    ]
    assert credited
    for slug in credited:
        assert slug in text, slug


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"status": "maybe"}, "status must be one of current, retired"),
        ({"source": "blog"}, "source 'blog' is not under [sources]"),
        ({"seen": "yesterday"}, "seen must be a TOML date"),
        ({"slug": ""}, "slug must be a non-empty string"),
    ],
)
def test_a_malformed_image_entry_is_refused(entry: dict[str, Any], error: str) -> None:
    good = {
        "slug": "debian-12-x64",
        "distribution": "Debian",
        "name": "12 x64",
        "status": "current",
        "source": "docs",
        "seen": dt.date(2026, 11, 26),
    }
    data = {"sources": {"docs": {}}, "regions": {"slugs": []}, "images": [{**good, **entry}]}
    with pytest.raises(PluginError, match=error.replace("[", r"\[").replace("]", r"\]")):
        parse_offerings(data, "test.toml")
    with pytest.raises(PluginError, match="listed twice: debian-12-x64"):
        parse_offerings({**data, "images": [good, good]}, "test.toml")


def test_a_listed_slug_passes(registry: ProviderRegistry) -> None:
    for slug in load_offerings().images:
        assert problems(registry, slug) == [], slug


def test_an_unknown_slug_says_the_list_is_offline_and_names_the_nearest(
    registry: ProviderRegistry,
) -> None:
    [(path, message)] = problems(registry, "ubuntu-24-04")
    assert path == "resources[0].specifications.image"
    assert "not among the 15 public images atlas lists offline" in message
    assert "(nearest: ubuntu-24-04-x64," in message
    assert "numeric id" in message


def test_a_retired_slug_is_refused_as_such(registry: ProviderRegistry) -> None:
    [(path, message)] = problems(registry, "ubuntu-16-04-x64")
    assert path == "resources[0].specifications.image"
    assert "no longer offers" in message
    assert "ubuntu-24-04-x64" in message


def test_a_numeric_image_id_needs_no_list(registry: ProviderRegistry) -> None:
    assert problems(registry, 123456789) == []
    [(path, message)] = problems(registry, 0)
    assert (path, message) == (
        "resources[0].specifications.image",
        "an image id must be a positive number",
    )
