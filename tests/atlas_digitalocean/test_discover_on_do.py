"""Issue 13's acceptance for discover and import, through the CLI against DigitalOcean's
emulator served on loopback: resources made by hand (straight through the API) are listed,
adopted without a create, left in place by a destroy, and deleted only when asked."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from atlas.cli import main

pytestmark = pytest.mark.loopback

TOKEN = "dop_v1_" + "7" * 64


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def by_hand(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A request as a person (or another tool) would send it: no atlas anywhere."""
    answer = httpx.post(
        f"{url}{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


def creates(emulator: Any) -> int:
    """POSTs that create droplets or volumes, so far."""
    return int(emulator.log.count("POST /v2/droplets") + emulator.log.count("POST /v2/volumes"))


def test_discover_import_and_destroy_what_was_made_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atlas_digitalocean.emulator import EmulatorConfig, serve

    with serve(port=0, config=EmulatorConfig(latency_scale=0.01)) as served:
        monkeypatch.setenv("DIGITALOCEAN_API_URL", served.url)
        monkeypatch.setenv("DIGITALOCEAN_TOKEN", TOKEN)
        monkeypatch.setenv("DIGITALOCEAN_POLL_INTERVAL", "0.02")
        state = str(tmp_path / "state.db")
        droplet = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64"}
        a = by_hand(served.url, "/v2/droplets", {"name": "blog", **droplet})["droplet"]
        b = by_hand(served.url, "/v2/droplets", {"name": "shop", **droplet})["droplet"]
        v = by_hand(
            served.url,
            "/v2/volumes",
            {"name": "photos", "region": "nyc3", "size_gigabytes": 50},
        )["volume"]
        made = {str(a["id"]), str(b["id"]), str(v["id"])}

        code, out, err = run("discover", "--provider", "digitalocean", "--state", state, "--json")
        assert (code, err) == (0, ""), out
        found = json.loads(out)
        listed = {i for r in found["resources"] for i in r["ids"]}
        assert listed == made
        costs = sorted((r["type"], r["monthly_cost"]) for r in found["resources"])
        assert costs == [("droplet", 6.0), ("droplet", 6.0), ("volume", 5.0)]
        assert found["monthly_cost"] == 17.0

        spec = tmp_path / "found.json"
        code, out, err = run(
            "discover", "--provider", "digitalocean", "--state", state, "--spec-out", str(spec)
        )
        assert (code, err) == (0, ""), out
        document = json.loads(spec.read_text(encoding="utf-8"))
        assert sorted(r["import"] for r in document["resources"]) == sorted(made)

        creates_before = creates(served.emulator)
        code, out, err = run("apply", "--yes", "--state", state, str(spec))
        assert (code, err) == (0, ""), out
        assert creates(served.emulator) == creates_before  # adopted: nothing was created

        name = document["name"]
        code, out, err = run("destroy", "--yes", "--state", state, name)
        assert (code, err) == (0, ""), out
        assert "left in place" in out
        code, out, _ = run("discover", "--provider", "digitalocean", "--state", state, "--json")
        assert {i for r in json.loads(out)["resources"] for i in r["ids"]} == made

        code, out, err = run("apply", "--yes", "--state", state, str(spec))
        assert (code, err) == (0, ""), out
        code, out, err = run("destroy", "--yes", "--include-imported", "--state", state, name)
        assert (code, err) == (0, ""), out
        code, out, _ = run("discover", "--provider", "digitalocean", "--state", state, "--json")
        assert json.loads(out)["resources"] == []
