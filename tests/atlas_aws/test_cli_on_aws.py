"""The lifecycle commands on AWS: the example through ``--sandbox``, and ``apply`` then
``destroy`` against a plain moto server (no fidelity layer) named by ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from atlas.cli import main
from atlas_aws.emulator.cli import _parser as emulator_parser
from tests.conftest import EXAMPLES, REPO

STACK = str(EXAMPLES / "aws-stack.yaml")


def _with_image_id(path: Path, client: Any) -> str:
    """The example stack with an image plain moto has instead of the alias (moto ships no
    Ubuntu 24.04; the fidelity layer adds it)."""
    image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    text = (
        Path(STACK).read_text(encoding="utf-8").replace("image: ubuntu-24.04", f"image_id: {image}")
    )
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_apply_sandbox_runs_the_whole_lifecycle() -> None:
    code, out, err = run("apply", "--sandbox", "--yes", STACK)
    assert (code, err) == (0, ""), out
    # Its root volumes have no sourced EBS price in eu-west-1 (scripts/aws-ebs-prices.csv).
    assert "+ create  instance web  (unknown/mo)" in out
    assert "apply: completed (11/11 steps)" in out
    assert "plan again: No changes" in out
    assert "destroy: completed; the sandbox holds nothing" in out


@pytest.fixture
def plain_moto() -> Iterator[str]:
    """moto's own ThreadedMotoServer, nothing in front of it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _atlas_made(client: Any, rds: Any, elb: Any) -> dict[str, list[str]]:
    """What the account holds: EC2 objects with atlas's marks, and every DB instance, DB
    subnet group, load balancer and target group (a fresh account has none)."""
    marked = [{"Name": "tag-key", "Values": ["atlas:owner"]}]
    reservations = client.describe_instances(Filters=marked)["Reservations"]
    return {
        "db_instances": [
            d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]
        ],
        "db_subnet_groups": [
            g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]
        ],
        "load_balancers": [
            b["LoadBalancerArn"] for b in elb.describe_load_balancers()["LoadBalancers"]
        ],
        "target_groups": [
            g["TargetGroupArn"] for g in elb.describe_target_groups()["TargetGroups"]
        ],
        "instances": [
            i["InstanceId"]
            for r in reservations
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ],
        "vpcs": [v["VpcId"] for v in client.describe_vpcs(Filters=marked)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in client.describe_subnets(Filters=marked)["Subnets"]],
        "groups": [
            g["GroupId"] for g in client.describe_security_groups(Filters=marked)["SecurityGroups"]
        ],
        "volumes": [
            v["VolumeId"]
            for v in client.describe_volumes(Filters=marked)["Volumes"]
            if v["State"] != "deleted"
        ],
    }


@pytest.mark.loopback
def test_apply_then_destroy_on_plain_moto_makes_each_object_once(
    plain_moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", plain_moto)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPLAINMOTO0000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "plain-moto-secret")
    monkeypatch.setenv("ATLAS_AWS_POLL_INTERVAL", "0.05")
    state = str(tmp_path / "state.db")
    client, rds, elb = (
        boto3.client(
            service,
            region_name="eu-west-1",
            endpoint_url=plain_moto,
            aws_access_key_id="AKIAPLAINMOTO0000001",
            aws_secret_access_key="plain-moto-secret",
        )
        for service in ("ec2", "rds", "elbv2")
    )
    stack = _with_image_id(tmp_path / "shop.yaml", client)
    code, out, err = run("apply", "--yes", "--state", state, stack)
    assert (code, err) == (0, ""), out
    made = _atlas_made(client, rds, elb)
    counts = {kind: len(ids) for kind, ids in made.items()}
    assert counts == {
        "instances": 4, "vpcs": 1, "subnets": 2, "groups": 3, "volumes": 1,
        "db_instances": 1, "db_subnet_groups": 1, "load_balancers": 1, "target_groups": 1,
    }  # fmt: skip
    code, out, _ = run("plan", "--refresh", "--state", state, stack)
    assert out == "No changes: 'shop' matches its spec.\n"
    code, out, err = run("destroy", "--yes", "--state", state, "shop")
    assert (code, err) == (0, ""), out
    left = {kind: ids for kind, ids in _atlas_made(client, rds, elb).items() if ids}
    assert not left, f"destroy left objects behind: {left}"
    [default] = client.describe_vpcs()["Vpcs"]
    assert default["IsDefault"], "the account's default VPC is left alone"


def test_emulator_command_serves_and_its_options_are_documented() -> None:
    page = (REPO / "docs" / "aws.md").read_text(encoding="utf-8")
    options = {
        opt
        for action in emulator_parser("x")._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    }
    assert options
    for option in sorted(options):
        assert f"| `{option}` |" in page, f"docs/aws.md lacks the emulator option {option}"


@pytest.mark.loopback
def test_atlas_emulator_provider_aws_serves_on_loopback() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "atlas", "emulator", "--provider", "aws", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url is not None, line
        client = boto3.client(
            "ec2", region_name="us-east-1", endpoint_url=url.group(0),
            aws_access_key_id="AKIAEMULATOR00000001", aws_secret_access_key="x",
        )  # fmt: skip
        assert client.describe_vpcs()["Vpcs"][0]["IsDefault"]
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_the_price_catalog_is_what_the_script_generates() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "aws_prices.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
