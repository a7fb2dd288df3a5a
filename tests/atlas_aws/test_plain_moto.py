"""Issue 14's acceptance on a plain ``moto_server``: with nothing in front of moto (no
fidelity layer), ``atlas apply`` then ``atlas destroy`` of examples/aws-stack.yaml, run as the
``atlas`` command in a process of its own and pointed at moto by ``AWS_ENDPOINT_URL``, creates
each object the spec declares exactly once and leaves nothing behind.

The check reads the spec and the whole account (tests/atlas_aws/census.py): a kind the
census cannot list fails the test by name, before anything runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.atlas_aws.census import census, clients, expected, left
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.loopback

STACK = EXAMPLES / "aws-stack.yaml"
KEY_ID, SECRET = "AKIAPLAINMOTO0000002", "plain-moto-secret"


@pytest.fixture
def plain_moto() -> Iterator[str]:
    """moto's own ThreadedMotoServer on a free loopback port, nothing in front of it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _with_moto_images(spec: dict[str, Any], ec2: Any) -> dict[str, Any]:
    """The spec with an image moto has (of the instance type's architecture) for each image
    alias: moto ships no Ubuntu 24.04, which the fidelity layer adds."""
    images: dict[str, str] = {}
    for image in ec2.describe_images(Owners=["amazon"])["Images"]:
        images.setdefault(image["Architecture"], image["ImageId"])
    for resource in spec["resources"]:
        fields = resource["specifications"]
        if resource["type"] == "instance" and "image" in fields:
            [kind] = ec2.describe_instance_types(InstanceTypes=[fields["instance_type"]])[
                "InstanceTypes"
            ]
            arch = kind["ProcessorInfo"]["SupportedArchitectures"][0]
            fields["image_id"] = images[arch]
            del fields["image"]
    return spec


def _atlas(*argv: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    """The ``atlas`` command, in a process of its own, with nothing of this machine's AWS
    configuration: moto's address, a made-up key pair, fast polls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ATLAS_", "BOTO_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_CONFIG_FILE=os.devnull,
        ATLAS_AWS_POLL_INTERVAL="0.1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])),
    )
    return subprocess.run(
        [sys.executable, "-m", "atlas", *argv],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip


def test_apply_then_destroy_on_plain_moto_makes_each_object_once_and_leaves_nothing(
    plain_moto: str, tmp_path: Path
) -> None:
    spec = yaml.safe_load(STACK.read_text(encoding="utf-8"))
    wanted = expected(spec)
    aws = clients(plain_moto, spec["region"], KEY_ID, SECRET)
    assert not left(aws), "the account is not fresh"
    stack = tmp_path / STACK.name
    stack.write_text(yaml.safe_dump(_with_moto_images(spec, aws.ec2)), encoding="utf-8")
    state = str(tmp_path / "state.db")

    applied = _atlas("apply", "--yes", "--state", state, str(stack), endpoint=plain_moto)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert census(aws) == wanted, "not each declared object exactly once (or untagged ones)"

    destroyed = _atlas("destroy", "--yes", "--state", state, spec["name"], endpoint=plain_moto)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    remaining = left(aws)
    assert not remaining, f"destroy left objects behind: {remaining}"
    [default] = aws.ec2.describe_vpcs()["Vpcs"]
    assert default["IsDefault"], "the account's default VPC is left alone"
