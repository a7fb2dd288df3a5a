"""Benchmark 13: comparing a 1,000-resource portable spec across every provider and region.

The spec repeats the acceptance stack of issue 16 (a ``server`` of 2 vCPUs / 4 GB, count 2; a
100 GB ``volume``, unattached: every provider's block volume attaches to one machine, and the
server is counted; a PostgreSQL 15 ``database`` of 1 vCPU / 2 GB; a
``load_balancer`` in front of the server), each group with its own names, as a
``provider: any`` spec with no constraint: every provider with a translator competes in every
one of its regions.

Two registries: the plugins installed here (whatever translators they have; a provider
without one is left out, and the table says how many competed), and the toy clouds of the
tests (``tests/atlas/portable/toy.py``: four providers whose translators answer like
resources once per call) at 8 and at 30 regions each, to show what the resolver itself costs
as regions grow. Times are the median of several runs after one warm-up: ``compare()`` alone,
and ``atlas estimate FILE --compare --json`` in-process (reading the file, validating,
comparing, writing the JSON).
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

import atlas.runtime
from atlas.cli import main
from atlas.portable.resolve import compare
from atlas.providers.registry import ProviderRegistry
from benchmarks.harness import Table, median, spread, verdict

#: Resources, seconds (issue 16's acceptance).
TARGET = (1000, 1.0)


def portable_spec(count: int) -> dict[str, Any]:
    """``count`` resources: groups of the acceptance stack, references inside each group."""
    resources: list[dict[str, Any]] = []
    for i in range(count):
        group, part = divmod(i, 4)
        web = f"web{group}"
        kind, name, specs = [
            ("server", web, {"vcpus": 2, "memory_gb": 4, "count": 2}),
            ("volume", f"data{group}", {"size_gb": 100}),
            ("database", f"db{group}", DATABASE),
            ("load_balancer", f"lb{group}", {"targets": [web]}),
        ][part]
        resources.append({"type": kind, "name": name, "specifications": specs})
    return {"name": f"portable-{count}", "provider": "any", "resources": resources}


DATABASE = {"engine": "postgres", "version": 15, "vcpus": 1, "memory_gb": 2}


@attrs.frozen
class Round:
    label: str
    translated: int
    providers: int
    regions: int
    candidates: int
    compare_s: list[float]
    cli_s: list[float]


def _timed(work: Callable[[], object], runs: int) -> list[float]:
    work()  # warm-up: imports, catalogs
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        out.append(time.perf_counter() - began)
    return out


def _cli(path: Path, registry: ProviderRegistry) -> Callable[[], object]:
    def run() -> object:
        saved = atlas.runtime.default_registry
        atlas.runtime.default_registry = lambda: registry
        try:
            out = io.StringIO()
            code = main(["estimate", str(path), "--compare", "--json"], out=out)
            assert code == 0, out.getvalue()
            return json.loads(out.getvalue())
        finally:
            atlas.runtime.default_registry = saved

    return run


def measure(label: str, registry: ProviderRegistry, count: int, runs: int) -> Round:
    doc = portable_spec(count)
    result = compare(doc, registry=registry)
    translators = [registry.portable_translator(n) for n in registry.names()]
    regions = sum(len(t.regions()) for t in translators if t is not None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "portable.json"
        path.write_text(json.dumps(doc))
        cli = _timed(_cli(path, registry), runs)
    return Round(
        label,
        sum(t is not None for t in translators),
        len(registry.names()),
        regions,
        len(result.candidates),
        _timed(lambda: compare(doc, registry=registry), runs),
        cli,
    )


def registries() -> list[tuple[str, ProviderRegistry]]:
    from tests.atlas.portable.toy import many_clouds, toy_registry  # noqa: PLC0415 - test data

    found = [("installed plugins", atlas.runtime.default_registry())]
    for regions in (8, 30):
        clouds = many_clouds(4, regions)
        found.append((f"toy clouds, 4 x {regions} regions", toy_registry(clouds=clouds)))
    return found


def run_all(count: int = TARGET[0], runs: int = 5) -> list[Round]:
    return [measure(label, registry, count, runs) for label, registry in registries()]


def table(rounds: Sequence[Round], runs: int) -> Table:
    count, seconds = TARGET
    t = Table(
        f"13. `estimate --compare` of a {count:,}-resource portable spec (target < {seconds:g} s)",
        [
            "registry",
            "translators / providers",
            "regions",
            "candidates",
            "`compare()` s",
            "`atlas estimate --compare --json` s",
            "target",
        ],
    )
    for r in rounds:
        ok = r.translated > 0 and median(r.cli_s) < seconds
        t.add(
            r.label,
            f"{r.translated} / {r.providers}",
            r.regions,
            r.candidates,
            spread(r.compare_s, "{:.3f}"),
            spread(r.cli_s, "{:.3f}"),
            verdict(ok) if r.translated else "n/a (no translator installed)",
        )
    t.notes.append(
        f"median (min-max) of {runs} runs after a warm-up; in-process, so interpreter start "
        "is not counted (suite `startup` measures that)"
    )
    t.notes.append(
        "each region is translated once with all the resources; nothing is cached between "
        "calls. A provider without a translator is left out in one line"
    )
    return t


if __name__ == "__main__":
    print(table(run_all(), 5).render())
