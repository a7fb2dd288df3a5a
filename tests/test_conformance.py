"""The conformance kit passes for the providers atlas ships: the reference memory provider,
DigitalOcean and AWS, each run as a plugin author would run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROVIDERS = ("memory", "digitalocean", "aws")
#: Kit tests a provider cannot run, with why: none (AWS imports every kind since issue 14).
SKIPS: dict[str, int] = {}
#: The issue's floor: the full suite, at least this many tests per provider.
AT_LEAST = 30


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """Both kits at once: they mostly wait on their sandboxes' clocks, not on the CPU."""
    started = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "--pyargs",
                "atlas.testing",
                f"--atlas-provider={name}",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in PROVIDERS
    }
    done = {}
    for name, process in started.items():
        out, _ = process.communicate(timeout=900)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out)
    return done


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_kit_passes(runs: dict[str, subprocess.CompletedProcess[str]], provider: str) -> None:
    run = runs[provider]
    assert run.returncode == 0, run.stdout[-5000:]
    summary = run.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed.group(1)) >= AT_LEAST, summary
    skipped = re.search(r"(\d+) skipped", summary)
    # The whole suite ran, nothing left out but what SKIPS says.
    assert (int(skipped.group(1)) if skipped else 0) == SKIPS.get(provider, 0), summary
