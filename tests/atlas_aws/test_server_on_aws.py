"""``atlas serve`` on AWS: each workspace's key pair comes from the Context Manager with the
caller's JWT (``aws_access_key_id`` and ``aws_secret_access_key``), so two workspaces work in
two accounts, and a workspace with no pair is refused, naming where atlas looked and no
secret."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

import atlas_aws.plugin
from atlas.credentials import Secret
from atlas.plugins import get_plugin_manager
from atlas.providers import ProviderRegistry
from atlas.server import AuthConfig, Settings, create_app
from atlas.store import SQLiteStore
from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import account_for, shared_emulator
from atlas_aws.faults import outside_client
from atlas_aws.sandbox import CONFIG
from tests.atlas.server.conftest import SECRET, Served, token, wait_for
from tests.atlas.server.context_manager import context_manager

pytestmark = pytest.mark.loopback

REGISTRY = ProviderRegistry.from_plugin_manager(
    get_plugin_manager(plugins=[atlas_aws.plugin], autoload=False)
)


def pair() -> tuple[str, str]:
    """A made-up key pair: the emulator makes every key id an account of its own."""
    return "AKIA" + secrets.token_hex(8).upper(), "made-up/" + secrets.token_urlsafe(30)


def doc(cidr: str) -> dict[str, Any]:
    net = {"type": "vpc", "name": "net", "specifications": {"cidr_block": cidr}}
    return {"name": "net", "provider": "aws", "region": "eu-west-1", "resources": [net]}


async def test_each_workspace_works_in_its_own_account_with_its_own_pair(tmp_path: Path) -> None:
    emulator = shared_emulator(CONFIG)
    assert emulator.layer is not None
    (a_id, a_secret), (b_id, b_secret) = pair(), pair()
    stored = {
        ("ws-a", "aws_access_key_id"): a_id,
        ("ws-a", "aws_secret_access_key"): a_secret,
        ("ws-b", "aws_access_key_id"): b_id,
        ("ws-b", "aws_secret_access_key"): b_secret,
        ("ws-c", "aws_access_key_id"): "AKIA" + "0" * 16,  # half a pair is no pair
    }
    with context_manager(SECRET, stored) as cm:
        env = {
            "CONTEXT_MANAGER_URL": cm.url,
            "AWS_ENDPOINT_URL": emulator.url,
            "ATLAS_AWS_POLL_INTERVAL": "0.05",
            "HOME": str(tmp_path),  # no shared files to find a profile in
        }
        settings = Settings(
            store=SQLiteStore(":memory:"), registry=REGISTRY,
            auth=AuthConfig(jwt_secret=Secret(SECRET)), env=env,
            watch_interval=0.01, event_interval=0.05,
        )  # fmt: skip
        app = create_app(settings)
        served = Served(app)
        async with app.router.lifespan_context(app):
            for workspace, cidr in (("ws-a", "10.1.0.0/16"), ("ws-b", "10.2.0.0/16")):
                async with served.client({"Authorization": f"Bearer {token(workspace)}"}) as c:
                    [aws] = (await c.get("/api/v1/providers")).json()["providers"]
                    assert (aws["status"], aws["credentials"]) == ("available", "found")
                    r = await c.post("/api/v1/infrastructure", json=doc(cidr))
                    assert r.status_code == 201, r.text
                    op = await wait_for(c, r.json()["operation"]["id"])
                    assert op["status"] == "completed", op["error"]
            async with served.client({"Authorization": f"Bearer {token('ws-c')}"}) as c:
                r = await c.post("/api/v1/infrastructure", json=doc("10.3.0.0/16"))
    assert r.status_code == 424, r.text
    body = r.json()
    assert body["code"] == "CREDENTIALS_ERROR"
    assert "no AWS access key pair found" in body["message"]
    assert any("aws_secret_access_key" in s for s in body["sources_tried"]), body
    for secret in (a_secret, b_secret, a_id, b_id, SECRET):
        assert secret not in r.text
    # Each workspace's VPC is in its own account, made with its own pair.
    marked = [{"Name": "tag-key", "Values": ["atlas:owner"]}]
    for key_id, key, cidr in ((a_id, a_secret, "10.1.0.0/16"), (b_id, b_secret, "10.2.0.0/16")):
        assert emulator.layer.account(account_for(key_id)).actions.count("CreateVpc") == 1
        ec2 = outside_client(emulator, AwsKeys(Secret(key_id), Secret(key)), "eu-west-1")
        assert [v["CidrBlock"] for v in ec2.describe_vpcs(Filters=marked)["Vpcs"]] == [cidr]
