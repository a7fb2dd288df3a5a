"""Issue 14's acceptance: `atlas apply` of the AWS example killed with SIGKILL at random
moments, then applied again: every object exactly once; then `atlas destroy` leaves nothing.

Each trial is a fresh account (a new access key id) of one emulator served on loopback, with
the fidelity layer on: launches pending, instances unlisted right after their launch, DB
instances creating and load balancers provisioning (each at a fraction of AWS's pace).
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.loopback

TRIALS = int(os.environ.get("ATLAS_CRASH_TRIALS", "20"))
SEED = 20261202
#: Kill moments, in seconds after start: an uninterrupted apply takes about 3.5 s here.
KILL_WINDOW = (0.6, 4.0)
STACK = str(EXAMPLES / "aws-stack.yaml")
#: What the stack is made of: objects per resource.
EXPECTED = Counter(
    {"vpc/net": 1, "subnet/public-a": 1, "subnet/private-b": 1, "security_group/frontend": 1,
     "security_group/app": 1, "instance/web": 3, "instance/worker": 1, "volume/worker-data": 1,
     "security_group/db": 1, "db_instance/orders": 1, "db_subnet_group/orders": 1,
     "load_balancer/front": 1, "target_group/front": 1}
)  # fmt: skip
#: AWS's pace compressed: RDS creating and deleting, load balancers provisioning.
PACE = {
    "db_creating_seconds": 0.6,
    "db_deleting_seconds": 0.3,
    "provisioning_seconds": 0.5,
    "release_seconds": 0.2,
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[AwsEmulator]:
    served = AwsEmulator(config=FidelityConfig(pending_seconds=0.5, invisible_seconds=0.2, **PACE))
    served.start()
    yield served
    served.stop()


def atlas(emulator: AwsEmulator, key: str, state: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": "crash-trial-secret",
        "ATLAS_AWS_POLL_INTERVAL": "0.05",
        "ATLAS_STATE": str(state),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "atlas", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    return out


def clients(emulator: AwsEmulator, key: str) -> dict[str, Any]:
    """boto3 clients of EC2, RDS and ELBv2 in the trial's account."""
    return {
        service: boto3.client(
            service,
            region_name="eu-west-1",
            endpoint_url=emulator.url,
            aws_access_key_id=key,
            aws_secret_access_key="crash-trial-secret",
        )
        for service in ("ec2", "rds", "elbv2")
    }


def _tagged(arns: list[str], elb: Any) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for i in range(0, len(arns), 20):
        for d in elb.describe_tags(ResourceArns=arns[i : i + 20])["TagDescriptions"]:
            tags[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d.get("Tags") or []}
    return tags


def census(made: dict[str, Any]) -> Counter[str]:
    """Objects carrying atlas's marks, by kind and resource (terminated instances aside)."""
    client, rds, elb = made["ec2"], made["rds"], made["elbv2"]
    marked = [{"Name": "tag-key", "Values": ["atlas:owner"]}]
    listed = {
        "vpc": client.describe_vpcs(Filters=marked)["Vpcs"],
        "subnet": client.describe_subnets(Filters=marked)["Subnets"],
        "security_group": client.describe_security_groups(Filters=marked)["SecurityGroups"],
        # Root volumes carry atlas:root-of, not the owner mark: only the volume resource here.
        "volume": [
            v for v in client.describe_volumes(Filters=marked)["Volumes"] if v["State"] != "deleted"
        ],
        "instance": [
            i
            for r in client.describe_instances(Filters=marked)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ],
    }
    found: Counter[str] = Counter()
    for kind, objects in listed.items():
        for obj in objects:
            tags = {t["Key"]: t["Value"] for t in obj.get("Tags") or []}
            found[f"{kind}/{tags['atlas:resource'].split(':', 1)[1]}"] += 1
    # RDS and ELBv2: everything in the account counts, marked or not (a fresh account has
    # none), so an object made without its tags is found too.
    rds_listed = {
        "db_instance": rds.describe_db_instances()["DBInstances"],
        "db_subnet_group": rds.describe_db_subnet_groups()["DBSubnetGroups"],
    }
    for kind, objects in rds_listed.items():
        for obj in objects:
            arn = obj.get("DBInstanceArn") or obj.get("DBSubnetGroupArn")
            tags = {
                t["Key"]: t["Value"]
                for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]
            }
            found[f"{kind}/{tags.get('atlas:resource', ':unmarked').split(':', 1)[1]}"] += 1
    elb_listed = {
        "load_balancer": [
            d["LoadBalancerArn"] for d in elb.describe_load_balancers()["LoadBalancers"]
        ],
        "target_group": [d["TargetGroupArn"] for d in elb.describe_target_groups()["TargetGroups"]],
    }
    for kind, arns in elb_listed.items():
        tags_of = _tagged(arns, elb)
        for arn in arns:
            resource = tags_of.get(arn, {}).get("atlas:resource", ":unmarked")
            found[f"{kind}/{resource.split(':', 1)[1]}"] += 1
    return found


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_apply_then_apply_again(emulator: AwsEmulator, tmp_path: Path, trial: int) -> None:
    key = "AKIA" + secrets.token_hex(8).upper()
    client = clients(emulator, key)
    state = tmp_path / "state.db"
    moment = random.Random(SEED + trial).uniform(*KILL_WINDOW)
    proc = atlas(emulator, key, state, "apply", "--yes", STACK)
    time.sleep(moment)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    out = finish(atlas(emulator, key, state, "apply", "--yes", STACK))
    assert census(client) == EXPECTED, f"kill at {moment:.2f}s:\n{out}"

    finish(atlas(emulator, key, state, "destroy", "--yes", "shop"))
    assert census(client) == Counter(), f"kill at {moment:.2f}s: left behind"


def test_after_a_crash_the_next_apply_sends_the_same_launch_token(tmp_path: Path) -> None:
    """Killed right after ``RunInstances`` went out, while EC2 does not list the instances
    yet (so the next apply cannot find them by their tags): the next apply launches with the
    token of the operation that was cut short, and EC2 answers with the same instances."""
    slow = AwsEmulator(
        config=FidelityConfig(pending_seconds=0.5, invisible_seconds=8.0, **PACE)
    ).start()
    try:
        assert slow.layer is not None
        key = "AKIA" + secrets.token_hex(8).upper()
        account = slow.layer.account(account_for(key))
        state = tmp_path / "state.db"
        proc = atlas(slow, key, state, "apply", "--yes", STACK)
        deadline = time.monotonic() + 60
        while "RunInstances" not in account.actions and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert "RunInstances" in account.actions, "the apply never launched"
        sent = [t for t in account.tokens if t.startswith("RunInstances/")]

        out = finish(atlas(slow, key, state, "apply", "--yes", STACK))
        client = clients(slow, key)
        assert census(client) == EXPECTED, out
        # Every launch token the first apply sent was sent again, not replaced.
        assert set(sent) <= set(account.tokens)
        assert len([t for t in account.tokens if t.startswith("RunInstances/")]) == 2, out
        finish(atlas(slow, key, state, "destroy", "--yes", "shop"))
        assert census(client) == Counter()
    finally:
        slow.stop()
