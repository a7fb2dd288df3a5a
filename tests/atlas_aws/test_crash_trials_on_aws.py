"""Issue 14's acceptance: `atlas apply` of the AWS example killed with SIGKILL at random
moments, then applied again: every object exactly once; then `atlas destroy` leaves nothing.

Each trial is a fresh account (a new access key id) of one emulator served on loopback, with
the fidelity layer on: launches pending, instances unlisted right after their launch.

The moments are counted in the apply's own changes, not in seconds: a trial kills the apply
a random 0-30 ms after the emulator received its k-th change (any call but a ``Describe*``),
k drawn from the changes an uninterrupted apply makes, the last one excepted (so the apply is
always still running when killed). Seconds after start depend on the machine: on a loaded
one the interpreter's start alone took longer than a window of 0.6-3 s, and every kill
struck before the first call.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for
from tests.atlas_aws.census import census, clients, expected, left
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.loopback

TRIALS = int(os.environ.get("ATLAS_CRASH_TRIALS", "20"))
SEED = 20261202
#: After the k-th change arrives, the kill waits a random moment up to this (s).
KILL_DELAY = 0.03
STACK = str(EXAMPLES / "aws-stack.yaml")
#: What the stack is made of, objects per resource, as the spec declares it.
EXPECTED = expected(yaml.safe_load(Path(STACK).read_text(encoding="utf-8")))
#: AWS's pace compressed: RDS creating and deleting, load balancers provisioning (the
#: defaults model minutes, which twenty trials cannot wait for).
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


def changes(emulator: AwsEmulator, key: str) -> int:
    """How many changes (calls but ``Describe*``) the account's requests were so far."""
    assert emulator.layer is not None
    account = emulator.layer.account(account_for(key))
    with account.lock:
        return sum(1 for action in account.actions if not action.startswith("Describe"))


@pytest.fixture(scope="module")
def changes_of_an_apply(emulator: AwsEmulator, tmp_path_factory: pytest.TempPathFactory) -> int:
    """The changes an uninterrupted apply of the stack makes, in an account of its own."""
    key = "AKIA" + secrets.token_hex(8).upper()
    state = tmp_path_factory.mktemp("reference") / "state.db"
    finish(atlas(emulator, key, state, "apply", "--yes", STACK))
    made = changes(emulator, key)
    finish(atlas(emulator, key, state, "destroy", "--yes", "shop"))
    assert made >= 2, "an apply of the stack makes changes"
    return made


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


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_apply_then_apply_again(
    emulator: AwsEmulator, changes_of_an_apply: int, tmp_path: Path, trial: int
) -> None:
    key = "AKIA" + secrets.token_hex(8).upper()
    aws = clients(emulator.url, "eu-west-1", key, "crash-trial-secret")
    state = tmp_path / "state.db"
    draw = random.Random(SEED + trial)
    nth, delay = draw.randint(1, changes_of_an_apply - 1), draw.uniform(0, KILL_DELAY)
    moment = f"{delay * 1000:.0f} ms after change {nth} of {changes_of_an_apply}"
    proc = atlas(emulator, key, state, "apply", "--yes", STACK)
    deadline = time.monotonic() + 120
    while changes(emulator, key) < nth and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay)
    assert proc.poll() is None, f"the apply ended before the kill ({moment})"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    out = finish(atlas(emulator, key, state, "apply", "--yes", STACK))
    assert census(aws) == EXPECTED, f"killed {moment}:\n{out}"

    finish(atlas(emulator, key, state, "destroy", "--yes", "shop"))
    assert not left(aws), f"killed {moment}: left behind"


def test_after_a_crash_the_next_apply_sends_the_same_launch_token(tmp_path: Path) -> None:
    """Killed right after ``RunInstances`` went out, while EC2 does not list the instances
    yet (so the next apply cannot find them by their tags): the next apply launches with the
    token of the operation that was cut short, and EC2 answers with the same instances."""
    config = FidelityConfig(pending_seconds=0.5, invisible_seconds=8.0, **PACE)
    slow = AwsEmulator(config=config).start()
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
        aws = clients(slow.url, "eu-west-1", key, "crash-trial-secret")
        assert census(aws) == EXPECTED, out
        # Every launch token the first apply sent was sent again, not replaced.
        assert set(sent) <= set(account.tokens)
        assert len([t for t in account.tokens if t.startswith("RunInstances/")]) == 2, out
        finish(atlas(slow, key, state, "destroy", "--yes", "shop"))
        assert not left(aws)
    finally:
        slow.stop()
