"""Benchmark 7: what starting the ``atlas`` command costs, in CPU time.

Each command runs in a fresh interpreter, as a user runs it (``python -m atlas`` is the console
script's ``atlas.cli:main``); its CPU time (user + system) is read from
``getrusage(RUSAGE_CHILDREN)`` around the child, so neither the wall clock of a busy machine
nor this process counts. ``python -c pass`` is the floor: the interpreter alone. Every command
runs once per round, rounds repeated, and each ratio is taken within a round, before the median.
``import libcloud`` / ``import pydo`` are shown when installed (the bench extra), as what a
peer library costs before it does anything.

Bytecode is cached, as in any installed environment (``PYTHONDONTWRITEBYTECODE`` would have
every run compile every module from source, which is not what a user's second run costs): the
children write it to a temporary ``PYTHONPYCACHEPREFIX``, filled by one uncounted warm-up round.
"""

from __future__ import annotations

import importlib.util
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence

import attrs

from benchmarks.harness import REPO, Table, child_env, median, spread, verdict

#: ``atlas --help`` and ``atlas estimate FILE``: at most this much CPU each (issue 11).
TARGET_CPU = 0.3
SPEC = "examples/one-droplet.json"


@attrs.frozen
class Command:
    label: str
    args: Sequence[str]
    #: What its standard output must contain (the run fails otherwise).
    expect: str = ""
    target: bool = False


def commands() -> list[Command]:
    found = [
        Command("`python -c pass` (floor)", ["-c", "pass"]),
        Command("`python -c 'import atlas'`", ["-c", "import atlas"]),
        Command("`atlas --help`", ["-m", "atlas", "--help"], "emulator", target=True),
        # The DigitalOcean plugin's prices, found by entry point: the total must be there.
        Command(f"`atlas estimate {SPEC}`", ["-m", "atlas", "estimate", SPEC], "6.00", True),
    ]
    peers = {"libcloud": "apache-libcloud", "pydo": "pydo"}
    for module, name in peers.items():
        if importlib.util.find_spec(module) is not None:
            found.append(Command(f"`import {module}` ({name})", ["-c", f"import {module}"]))
    return found


def cpu_of(command: Command, env: Mapping[str, str]) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *command.args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(env),
        timeout=60,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or command.expect not in proc.stdout:
        raise RuntimeError(f"{command.label} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def run_all(runs: int) -> dict[str, dict[str, list[float]]]:
    cmds = commands()
    results: dict[str, dict[str, list[float]]] = {
        c.label: {"cpu": [], "wall": [], "x_help": []} for c in cmds
    }
    help_label = cmds[2].label
    with tempfile.TemporaryDirectory(prefix="atlas-pycache-") as cache:
        env = {**child_env(), "PYTHONPYCACHEPREFIX": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for c in cmds:  # warm-up: bytecode written once, as on a user's first run
            cpu_of(c, env)
        _rounds(cmds, runs, env, results, help_label)
    for c in cmds:
        print(f"  {c.label:<48} {median(results[c.label]['cpu']):.3f} s CPU", flush=True)
    return results


def _rounds(
    cmds: Sequence[Command],
    runs: int,
    env: Mapping[str, str],
    results: dict[str, dict[str, list[float]]],
    help_label: str,
) -> None:
    for _ in range(runs):
        round_cpu = {}
        for c in cmds:
            cpu, wall = cpu_of(c, env)
            round_cpu[c.label] = cpu
            results[c.label]["cpu"].append(cpu)
            results[c.label]["wall"].append(wall)
        for c in cmds:
            results[c.label]["x_help"].append(round_cpu[c.label] / round_cpu[help_label])


def table(results: dict[str, dict[str, list[float]]], runs: int) -> Table:
    t = Table(
        f"7. CLI startup CPU, a fresh interpreter per command - median (min-max) of {runs} runs",
        ["command", "CPU user+sys (s)", "x atlas --help", "wall (s)", "target"],
    )
    targets = {c.label for c in commands() if c.target}
    for label, r in results.items():
        check = "-"
        if label in targets:
            check = f"≤ {TARGET_CPU} s: {verdict(median(r['cpu']) <= TARGET_CPU)}"
        t.add(
            label,
            spread(r["cpu"], "{:.3f}"),
            f"{median(r['x_help']):.2f}",
            f"{median(r['wall']):.3f}",
            check,
        )
    t.notes += [
        "CPU = user + system time of the child process (`getrusage(RUSAGE_CHILDREN)`), "
        "everything from interpreter start to exit: imports, plugin discovery by entry point, "
        "parsing the arguments and, for estimate, reading, validating and pricing the spec.",
        "Bytecode cached (one uncounted warm-up round); "
        "`python -X importtime -m atlas estimate FILE` shows where the time goes.",
    ]
    return t
