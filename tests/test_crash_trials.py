"""Issue acceptance: `atlas apply` killed with SIGKILL at random moments, then applied again.

Each trial runs the real command line in a separate process against the emulator served on
loopback, kills it at a random moment (seeded, so a failing trial can be replayed), and runs
`atlas apply` again: afterwards every resource of the larger example exists exactly once, and
`atlas destroy` leaves the emulator empty.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_digitalocean.emulator import EmulatorConfig, RateLimits, ServedEmulator, serve
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.loopback

TRIALS = int(os.environ.get("ATLAS_CRASH_TRIALS", "20"))
SEED = 20261126
#: Kill moments, in seconds after start: an uninterrupted apply takes about 1.5 s here.
KILL_WINDOW = (0.3, 1.6)


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    config = EmulatorConfig(
        latency_scale=0.05,  # a fresh account: atlas makes default-fra1 before the stack's VPC
        rate_limits=RateLimits(enabled=False),
        droplet_limit=100,
    )
    with serve(port=0, config=config) as emulator:
        yield emulator


def atlas(served: ServedEmulator, state: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DIGITALOCEAN_API_URL": served.url,
        "DIGITALOCEAN_TOKEN": "dop_v1_" + "0" * 64,
        "DIGITALOCEAN_POLL_INTERVAL": "0.05",
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
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    return out


def census(served: ServedEmulator) -> Counter[str]:
    """Every object atlas made for the stack, by kind and name (the region's own default VPC,
    ``default-fra1``, which atlas makes first on this fresh account, excluded)."""
    found: Counter[str] = Counter()
    for kind in ("droplets", "volumes", "databases", "load_balancers", "firewalls", "vpcs"):
        for obj in served.emulator.objects(kind):
            if kind == "vpcs" and obj["name"] == "default-fra1":
                continue
            found[f"{kind}/{obj['name']}"] += 1
    return found


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_apply_then_apply_again(served: ServedEmulator, tmp_path: Path, trial: int) -> None:
    served.emulator.reset()
    state = tmp_path / "state.db"
    stack = str(EXAMPLES / "stack.yaml")
    moment = random.Random(SEED + trial).uniform(*KILL_WINDOW)
    proc = atlas(served, state, "apply", "--yes", stack)
    time.sleep(moment)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)

    out = finish(atlas(served, state, "apply", "--yes", stack))
    made = census(served)
    assert made, out
    assert all(n == 1 for n in made.values()), f"kill at {moment:.2f}s: duplicates {made}"
    droplets = sorted(k for k in made if k.startswith("droplets/"))
    assert droplets == [
        "droplets/shop-web-1",
        "droplets/shop-web-2",
        "droplets/shop-web-3",
        "droplets/shop-worker",
    ], f"kill at {moment:.2f}s"
    assert sum(made.values()) == 9, f"kill at {moment:.2f}s: {made}"
    vpcs = {v["name"]: v["default"] for v in served.emulator.objects("vpcs")}
    assert vpcs.pop("default-fra1") is True, f"kill at {moment:.2f}s: {vpcs}"
    assert not any(vpcs.values()), f"kill at {moment:.2f}s: the stack's VPC became the default"

    finish(atlas(served, state, "destroy", "--yes", "shop"))
    assert served.emulator.is_empty(), f"kill at {moment:.2f}s: left {census(served)}"
    assert [v["name"] for v in served.emulator.objects("vpcs")] == ["default-fra1"]
