"""The fidelity layer adds to moto what AWS does: token idempotency, launches that take time,
eventual consistency, throttling, an account per credential."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for
from atlas_aws.emulator.images import image_id

pytestmark = pytest.mark.loopback

ALIAS_ARM = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*"


@pytest.fixture(scope="module")
def emulator() -> Iterator[AwsEmulator]:
    served = AwsEmulator(config=FidelityConfig(pending_seconds=1.0, invisible_seconds=0.5))
    served.start()
    yield served
    served.stop()


def ec2(emulator: AwsEmulator, key: str | None = None, **config: Any) -> Any:
    return boto3.client(
        "ec2",
        region_name="eu-west-1",
        endpoint_url=emulator.url,
        aws_access_key_id=key or "AKIA" + secrets.token_hex(8).upper(),
        aws_secret_access_key="test-secret",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, **config),
    )


def launch(client: Any, token: str, instance_type: str = "t3.micro", count: int = 2) -> Any:
    image = image_id("eu-west-1", "ubuntu-24.04", "x86_64")
    return client.run_instances(
        ImageId=image, InstanceType=instance_type, MinCount=count, MaxCount=count,
        ClientToken=token,
    )  # fmt: skip


def test_a_repeated_token_launches_nothing_more(emulator: AwsEmulator) -> None:
    client = ec2(emulator)
    first = [i["InstanceId"] for i in launch(client, "tok-1")["Instances"]]
    again = [i["InstanceId"] for i in launch(client, "tok-1")["Instances"]]
    assert first == again
    time.sleep(0.6)
    listed = client.describe_instances()["Reservations"]
    assert sorted(i["InstanceId"] for r in listed for i in r["Instances"]) == sorted(first)


def test_a_token_with_other_parameters_is_refused(emulator: AwsEmulator) -> None:
    client = ec2(emulator)
    launch(client, "tok-2")
    with pytest.raises(ClientError) as info:
        launch(client, "tok-2", instance_type="t3.small")
    assert info.value.response["Error"]["Code"] == "IdempotentParameterMismatch"


def test_a_token_of_terminated_instances_is_refused(emulator: AwsEmulator) -> None:
    client = ec2(emulator)
    ids = [i["InstanceId"] for i in launch(client, "tok-3")["Instances"]]
    time.sleep(0.6)
    client.terminate_instances(InstanceIds=ids)
    with pytest.raises(ClientError) as info:
        launch(client, "tok-3")
    assert info.value.response["Error"]["Code"] == "IdempotentInstanceTerminated"


def test_a_launch_is_unknown_then_pending_then_running(emulator: AwsEmulator) -> None:
    client = ec2(emulator)
    [instance] = launch(client, "tok-4", count=1)["Instances"]
    instance_id = instance["InstanceId"]
    with pytest.raises(ClientError) as info:
        client.describe_instances(InstanceIds=[instance_id])
    assert info.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    assert client.describe_instances()["Reservations"] == []
    time.sleep(0.6)
    [reservation] = client.describe_instances(InstanceIds=[instance_id])["Reservations"]
    assert reservation["Instances"][0]["State"]["Name"] == "pending"
    time.sleep(0.5)
    [reservation] = client.describe_instances(InstanceIds=[instance_id])["Reservations"]
    assert reservation["Instances"][0]["State"]["Name"] == "running"


def test_every_key_id_is_an_account_of_its_own(emulator: AwsEmulator) -> None:
    mine, theirs = ec2(emulator), ec2(emulator)
    mine.create_vpc(CidrBlock="10.9.0.0/16")
    assert len(mine.describe_vpcs()["Vpcs"]) == 2  # the default VPC and mine
    [default] = theirs.describe_vpcs()["Vpcs"]
    assert default["IsDefault"], "a fresh account has its default VPC, as on AWS"
    assert account_for("AKIAONE") != account_for("AKIATWO")


def test_the_public_images_are_there(emulator: AwsEmulator) -> None:
    client = ec2(emulator)
    found = client.describe_images(
        Owners=["099720109477"],
        Filters=[{"Name": "name", "Values": [ALIAS_ARM]}],
    )["Images"]
    assert [i["Architecture"] for i in found] == ["arm64"]
    assert client.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["al2023-ami-2023.*-kernel-6.1-x86_64"]}
    ])["Images"]  # fmt: skip


def test_the_request_bucket_runs_dry() -> None:
    small = FidelityConfig(describe_bucket=(3.0, 0.01), pending_seconds=0, invisible_seconds=0)
    served = AwsEmulator(config=small).start()
    try:
        client = ec2(served)
        for _ in range(3):
            client.describe_vpcs()
        with pytest.raises(ClientError) as info:
            client.describe_vpcs()
        assert info.value.response["Error"]["Code"] == "RequestLimitExceeded"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        client.create_vpc(CidrBlock="10.8.0.0/16")  # changes have a bucket of their own
    finally:
        served.stop()


def test_plain_moto_launches_again_for_a_repeated_token() -> None:
    """Why the layer exists: without it, moto starts a second launch for a repeated token."""
    served = AwsEmulator(config=FidelityConfig(idempotency=False, pending_seconds=0,
                                               invisible_seconds=0)).start()  # fmt: skip
    try:
        client = ec2(served)
        first = launch(client, "tok-5")["Instances"]
        again = launch(client, "tok-5")["Instances"]
        assert {i["InstanceId"] for i in first}.isdisjoint(i["InstanceId"] for i in again)
    finally:
        served.stop()


def test_only_loopback_unless_allowed() -> None:
    with pytest.raises(ValueError, match="loopback"):
        AwsEmulator("0.0.0.0")  # noqa: S104 - the address refused


def _signed_get(emulator: AwsEmulator, key: str, params: dict[str, str]) -> tuple[int, bytes]:
    """An EC2 Query API call as a GET with its parameters in the query string (as Apache
    Libcloud sends them), signed by botocore's SigV4 signer."""
    url = f"{emulator.url}/?{urlencode({**params, 'Version': '2016-11-15'})}"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(key, "test-secret"), "ec2", "eu-west-1").add_auth(request)
    answer = httpx.get(url, headers=dict(request.headers.items()))
    return answer.status_code, answer.content


def test_a_get_with_query_parameters_is_seen_as_its_action() -> None:
    # Launches stay unknown for a minute: the GET comes well within it on any machine.
    served = AwsEmulator(config=FidelityConfig(invisible_seconds=60, pending_seconds=0)).start()
    try:
        key = "AKIA" + secrets.token_hex(8).upper()
        [instance] = launch(ec2(served, key), "tok-6", count=1)["Instances"]
        asked = {"Action": "DescribeInstances", "InstanceId.1": instance["InstanceId"]}
        status, body = _signed_get(served, key, asked)
        assert status == 400
        assert b"InvalidInstanceID.NotFound" in body, "right after launch, as for a POST"
        assert served.layer is not None
        actions = served.layer.account(account_for(key)).actions
        assert actions == ["RunInstances", "DescribeInstances"]
    finally:
        served.stop()


def test_answers_carry_ec2s_namespace(emulator: AwsEmulator) -> None:
    status, body = _signed_get(emulator, "AKIA" + secrets.token_hex(8).upper(),
                               {"Action": "DescribeVpcs"})  # fmt: skip
    assert status == 200
    assert b'<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' in body
