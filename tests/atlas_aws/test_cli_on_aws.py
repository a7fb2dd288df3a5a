"""The lifecycle commands on AWS: the example through ``--sandbox``, and the emulator command
(``apply`` then ``destroy`` on a plain moto server is in ``test_plain_moto.py``)."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import boto3
import pytest

from atlas.cli import main
from atlas_aws.emulator.cli import _parser as emulator_parser
from tests.conftest import EXAMPLES, REPO

STACK = str(EXAMPLES / "aws-stack.yaml")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_apply_sandbox_runs_the_whole_lifecycle() -> None:
    code, out, err = run("apply", "--sandbox", "--yes", STACK)
    assert (code, err) == (0, ""), out
    # 3 x t3.small (49.92) and their 20 GiB gp3 roots at eu-west-1's 0.088 (5.28); the worker's
    # root is the image's size, which only a launch tells: unknown offline.
    assert "+ create  instance web  (+55.20/mo)" in out
    assert "+ create  instance worker  (unknown/mo)" in out
    assert "apply: completed (11/11 steps)" in out
    assert "plan again: No changes" in out
    assert "destroy: completed; the sandbox holds nothing" in out


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
