"""Benchmark 4: the cost engine and the planner on large specs, offline.

``AsyncAtlas.estimate`` and ``AsyncAtlas.plan`` (no recorded state, no refresh) on specs of
100, 1,000 and 10,000 resources, given as the dict a caller sends (so validation is included,
as it is for a caller). The specs repeat the seven resources of examples/stack.yaml with their
references (VPC, 3-droplet resource, droplet, volume, database, load balancer, firewall), each
group with its own names and VPC range.

Time is the median of several calls after one warm-up call (which loads catalogs and builds
caches once per process); peak memory is measured in separate calls under ``tracemalloc``
(Python allocations, peak above what was allocated before the call), since tracing slows
the code it watches.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import yaml

from atlas import AsyncAtlas
from atlas.store import SQLiteStore
from benchmarks.harness import REPO, Table, median, spread, verdict

ESTIMATE_TARGET = (10_000, 0.5)  # resources, seconds
PLAN_TARGET = (1_000, 1.0)
#: The stack's resources in an order where references only point back.
ORDER = ("net", "worker", "web", "data", "db", "lb", "fw")


def large_spec(count: int) -> dict[str, Any]:
    """``count`` resources: groups of the stack's seven, renamed, references kept inside each
    group; a last partial group keeps the first resources of ``ORDER``."""
    stack: dict[str, Any] = yaml.safe_load((REPO / "examples" / "stack.yaml").read_text())
    templates = {r["name"]: r for r in stack["resources"]}
    resources = []
    for i in range(count):
        group, name = divmod(i, len(ORDER))
        res = copy.deepcopy(templates[ORDER[name]])
        resources.append(_rename(res, group))
    return {
        "name": f"large-{count}",
        "provider": stack["provider"],
        "region": stack["region"],
        "tags": stack["tags"],
        "resources": resources,
    }


def _rename(res: dict[str, Any], group: int) -> dict[str, Any]:
    def ref(name: str) -> str:
        return f"{name}-{group}"

    s = res["specifications"]
    res["name"] = ref(res["name"])
    for key in ("vpc", "attach_to"):
        if key in s:
            s[key] = ref(s[key])
    if "droplets" in s:
        s["droplets"] = [ref(d) for d in s["droplets"]]
    for rule in s.get("inbound_rules", []):
        sources = rule.get("sources", {})
        if "load_balancers" in sources:
            sources["load_balancers"] = [ref(x) for x in sources["load_balancers"]]
    if res["type"] == "vpc":
        # A /24 of its own in 10.0.0.0/8 for each of up to 65,536 groups (458,752 resources).
        s["ip_range"] = f"10.{group // 256}.{group % 256}.0/24"
    return res


def _timed(call: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    async def go() -> list[float]:
        await call()  # warm-up
        times = []
        for _ in range(runs):
            gc.collect()
            start = time.perf_counter()
            await call()
            times.append(time.perf_counter() - start)
        return times

    return asyncio.run(go())


def _peak_mib(call: Callable[[], Awaitable[object]]) -> float:
    async def go() -> float:
        await call()  # same warm state as the timed calls
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            await call()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return (peak - before) / 2**20

    return asyncio.run(go())


def measure(count: int, runs: int) -> dict[str, Any]:
    spec = large_spec(count)
    a = AsyncAtlas(store=SQLiteStore(":memory:"))

    async def estimate() -> object:
        est = await a.estimate(spec)
        assert len(est.breakdown) == count
        return est.monthly, est.hourly  # the totals are what a caller asks for

    async def plan() -> object:
        p = await a.plan(spec)
        assert len(p.changes) == count
        return p.cost_change

    async def validate() -> object:
        return a.validate(spec)

    out: dict[str, Any] = {
        "estimate": _timed(estimate, runs),
        "plan": _timed(plan, runs),
        "validate": _timed(validate, runs),
        "estimate_mib": _peak_mib(estimate),
        "plan_mib": _peak_mib(plan),
    }
    print(
        f"  {count:>6} resources  estimate {median(out['estimate']):.3f} s  "
        f"plan {median(out['plan']):.3f} s  validate {median(out['validate']):.3f} s",
        flush=True,
    )
    return out


def table(results: dict[int, dict[str, Any]], runs: int) -> Table:
    t = Table(
        f"4. Cost engine and planner, offline - median (min-max) of {runs} calls after a warm-up",
        [
            "resources",
            "estimate (s)",
            "estimate peak (MiB)",
            "plan (s)",
            "plan peak (MiB)",
            "of which validation (s)",
            "targets",
        ],
    )
    for count, r in sorted(results.items()):
        checks = []
        if count == ESTIMATE_TARGET[0]:
            ok = median(r["estimate"]) < ESTIMATE_TARGET[1]
            checks.append(f"estimate < {ESTIMATE_TARGET[1]} s: {verdict(ok)}")
        if count == PLAN_TARGET[0]:
            ok = median(r["plan"]) < PLAN_TARGET[1]
            checks.append(f"plan < {PLAN_TARGET[1]:g} s: {verdict(ok)}")
        t.add(
            f"{count:,}",
            spread(r["estimate"], "{:.3f}"),
            f"{r['estimate_mib']:.1f}",
            spread(r["plan"], "{:.3f}"),
            f"{r['plan_mib']:.1f}",
            f"{median(r['validate']):.3f}",
            "; ".join(checks) or "-",
        )
    t.notes += [
        "estimate = `AsyncAtlas.estimate(spec_dict)` and its monthly and hourly totals "
        "(validation for pricing included); "
        "plan = `AsyncAtlas.plan(spec_dict)`: full validation + diff against an empty store + "
        "costs; validation = `AsyncAtlas.validate(spec_dict)` alone (what plan validates).",
        "peak = tracemalloc's peak of Python allocations during one call, above the baseline.",
    ]
    return t


def run_all(sizes: Sequence[int], runs: int) -> dict[int, dict[str, Any]]:
    return {count: measure(count, runs) for count in sizes}
