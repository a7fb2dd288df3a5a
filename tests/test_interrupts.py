"""Issue acceptance: Ctrl-C (SIGINT) or SIGTERM sent to a real `atlas apply` mid-apply.

Each trial runs the command line in its own process against the DigitalOcean emulator served on
loopback, with its latencies at 0.3x (a droplet boots in 0.9 s, the database takes 3 s), and
sends the signal at a chosen moment, read off the progress lines: as the first step starts,
while the database is being waited for, as the last wave starts. The command must exit 130
with no traceback, say what was done and that `atlas apply FILE` again resumes, and that
apply must then finish with every resource of the stack existing exactly once. A second
Ctrl-C stops at once, and still leaves a journal the next apply resumes from.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_digitalocean.emulator import EmulatorConfig, ServedEmulator, serve
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.loopback

STACK = str(EXAMPLES / "stack.yaml")
#: Every object the stack is made of, once (the region's own default VPC aside).
EXPECTED = {
    "droplets/shop-web-1",
    "droplets/shop-web-2",
    "droplets/shop-web-3",
    "droplets/shop-worker",
    "volumes/shop-data-5be479ca",
    "databases/shop-db-5be479ca",
    "load_balancers/shop-lb-5be479ca",
    "firewalls/shop-fw-5be479ca",
    "vpcs/shop-net-5be479ca",
}
#: Generous bounds on a run that should take a few seconds.
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with serve(port=0, config=EmulatorConfig(latency_scale=0.3, droplet_limit=100)) as emulator:
        yield emulator


class Atlas:
    """``atlas ...`` in a process of its own, its output read line by line as it comes."""

    def __init__(self, served: ServedEmulator, state: Path, *args: str) -> None:
        env = {
            **os.environ,
            "DIGITALOCEAN_API_URL": served.url,
            "DIGITALOCEAN_TOKEN": "dop_v1_" + "7" * 64,
            "DIGITALOCEAN_POLL_INTERVAL": "0.1",
            "ATLAS_STATE": str(state),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "atlas", *args],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str) -> None:
        """Read on until a line contains ``text``."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            line = self._queue.get(timeout=TIMEOUT)
            if line is None:
                raise AssertionError(f"ended before {text!r}:\n{''.join(self.lines)}")
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} in time:\n{''.join(self.lines)}")

    def signal(self, sig: signal.Signals = signal.SIGINT) -> None:
        self.proc.send_signal(sig)

    def finish(self) -> tuple[int, str, str]:
        """The exit status, all of standard output, and standard error."""
        assert self.proc.stderr is not None
        code = self.proc.wait(timeout=TIMEOUT)
        err = self.proc.stderr.read()
        while (line := self._queue.get(timeout=TIMEOUT)) is not None:
            self.lines.append(line)
        self.proc.stderr.close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        return code, "".join(self.lines), err


def census(served: ServedEmulator) -> Counter[str]:
    found: Counter[str] = Counter()
    for kind in ("droplets", "volumes", "databases", "load_balancers", "firewalls", "vpcs"):
        for obj in served.emulator.objects(kind):
            if not (kind == "vpcs" and obj["name"] == "default-fra1"):
                found[f"{kind}/{obj['name']}"] += 1
    return found


def assert_interrupted(code: int, out: str, err: str) -> None:
    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert err == "", err
    assert f"`atlas apply {STACK}` again carries on from here" in out, out
    assert "`atlas status shop` shows where it stands" in out, out


def apply_again(served: ServedEmulator, state: Path) -> str:
    code, out, err = Atlas(served, state, "apply", "--yes", STACK).finish()
    assert (code, err) == (0, ""), out
    assert "Traceback" not in out
    made = census(served)
    assert set(made) == EXPECTED, made
    assert set(made.values()) == {1}, f"duplicates: {made}"
    return out


@pytest.mark.parametrize(
    ("moment", "pause", "sig"),
    [
        ("prepare vpc default-fra1 ...", 0.0, signal.SIGINT),  # the very first step
        ("create database db ...", 0.8, signal.SIGINT),  # while the database is waited for
        ("create load_balancer lb ...", 0.0, signal.SIGINT),  # the last wave but one
        ("create database db ...", 0.8, signal.SIGTERM),
    ],
    ids=["first-step", "mid-wait", "near-the-end", "sigterm-mid-wait"],
)
def test_an_interrupted_apply_says_so_and_apply_again_finishes(
    served: ServedEmulator, tmp_path: Path, moment: str, pause: float, sig: signal.Signals
) -> None:
    served.emulator.reset()
    state = tmp_path / "state.db"
    run = Atlas(served, state, "apply", "--yes", STACK)
    run.wait_for(moment)
    time.sleep(pause)
    run.signal(sig)
    code, out, err = run.finish()
    assert_interrupted(code, out, err)
    assert "interrupted: no new step starts" in out
    assert "Nothing was rolled back." in out
    assert "Not started: " in out  # the firewall at the least waits for what runs
    # What was under way when the signal came finished, and is said to have.
    done = out.split("Interrupted: ")[1].split(". ")[0]
    assert "steps done (default-fra1" in done
    if "database" in moment:
        assert "create database db: done" in out
        assert ", db" in done

    code, status, _ = Atlas(served, state, "status", "shop").finish()
    assert code == 0
    assert "interrupted: " in status

    again = apply_again(served, state)
    assert "create firewall fw: done" in again


def test_a_second_interrupt_stops_at_once_and_leaves_a_resumable_journal(
    served: ServedEmulator, tmp_path: Path
) -> None:
    served.emulator.reset()
    state = tmp_path / "state.db"
    run = Atlas(served, state, "apply", "--yes", STACK)
    run.wait_for("create database db ...")
    run.signal()
    run.wait_for("Ctrl-C again stops at once")
    run.signal()
    code, out, err = run.finish()
    assert_interrupted(code, out, err)
    assert "interrupted again: stopping now." in out
    # The database (3 s to be ready) was not waited for: it is not known yet, and said so.
    unknown = out.split("Not known yet: ")[1].split("(under way")[0]
    assert "create database db" in unknown
    assert "create database db: done" not in out
    apply_again(served, state)


def test_an_interrupted_destroy_is_finished_by_destroying_again(
    served: ServedEmulator, tmp_path: Path
) -> None:
    served.emulator.reset()
    state = tmp_path / "state.db"
    apply_again(served, state)
    run = Atlas(served, state, "destroy", "--yes", "shop")
    run.wait_for("delete firewall fw ...")
    run.signal()
    code, out, err = run.finish()
    assert (code, err) == (130, ""), out
    assert "Traceback" not in out
    assert "`atlas destroy shop` again carries on from here" in out
    code, out, err = Atlas(served, state, "destroy", "--yes", "shop").finish()
    assert (code, err) == (0, ""), out
    assert served.emulator.is_empty()
