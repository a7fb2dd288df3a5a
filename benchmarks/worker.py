"""One workload in its own process: ``python -m benchmarks.worker WORKLOAD --url URL ...``.

Prints one JSON line of wall-clock marks (``start``, ``active``, ``end``, seconds since the
epoch, the clock the emulator stamps its request log with) and details. The parent process
serves the emulator and counts the calls; see :mod:`benchmarks.harness`.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from atlas import AsyncAtlas
from atlas.store import SQLiteStore
from atlas_digitalocean.ops import OpsSettings
from atlas_digitalocean.provider import DigitalOceanProvider
from benchmarks.harness import REPO, TOKEN

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SIZE = "s-1vcpu-1gb"
IMAGE = "ubuntu-24-04-x64"


def fleet_spec(n: int) -> dict[str, Any]:
    """``n`` identical droplets: one resource with ``count``, as a user writes it."""
    droplet = {"size": SIZE, "image": IMAGE, "count": n}
    return {
        "name": f"fleet-{n}",
        "provider": "digitalocean",
        "region": "nyc3",
        "resources": [{"type": "droplet", "name": "node", "specifications": droplet}],
    }


def split_fleet_spec(n: int, per: int) -> dict[str, Any]:
    """The same ``n`` droplets as resources of ``per`` each, which atlas creates side by
    side (its executor runs up to 8 independent resources at once)."""
    spec = fleet_spec(n)
    resources = []
    for i, first in enumerate(range(0, n, per), start=1):
        count = min(per, n - first)
        droplet = {"size": SIZE, "image": IMAGE, "count": count}
        resources.append({"type": "droplet", "name": f"node{i}", "specifications": droplet})
    spec["resources"] = resources
    return spec


def stack_spec(index: int) -> dict[str, Any]:
    """Copy ``index`` of examples/stack.yaml: its own name and a VPC range of its own."""
    doc: dict[str, Any] = yaml.safe_load((REPO / "examples" / "stack.yaml").read_text())
    doc = copy.deepcopy(doc)
    doc["name"] = f"shop-{index:02d}"
    for res in doc["resources"]:
        if res["type"] == "vpc":
            res["specifications"]["ip_range"] = f"10.{20 + index}.0.0/20"
    return doc


def provider(url: str, poll: float | None) -> DigitalOceanProvider:
    settings = OpsSettings() if poll is None else OpsSettings(poll_interval=poll)
    return DigitalOceanProvider(TOKEN, base_url=url, settings=settings, env={})


async def limiter_stats(p: DigitalOceanProvider) -> dict[str, float]:
    """What the client-side rate limiter did: requests let through, how many waited, for how
    long in total."""
    stats = (await p.api()).client.rate_limiter.stats
    return {"requests": stats.requests, "waits": stats.waits, "time_waited": stats.time_waited}


async def atlas_fleet(url: str, n: int, poll: float | None, split: int | None) -> dict[str, Any]:
    spec = fleet_spec(n) if split is None else split_fleet_spec(n, split)
    p = provider(url, poll)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(str(Path(tmp) / "state.db"))
        async with AsyncAtlas(store=store, providers={"digitalocean": p}) as a:
            start = time.time()
            op = await a.apply(spec)
            active = time.time()
            if op.status != "completed":
                raise RuntimeError(f"apply {op.status}: {op.error}")
            made = sum(len(r.objects) for r in a.get(spec["name"]).resources)
            if made != n:
                raise RuntimeError(f"apply made {made} droplets, not {n}")
            gone = await a.destroy(spec["name"])
            end = time.time()
            if gone.status != "completed":
                raise RuntimeError(f"destroy {gone.status}: {gone.error}")
            stats = await limiter_stats(p)
    return {"start": start, "active": active, "end": end, "limiter": stats}


async def atlas_stacks(url: str, copies: int, poll: float | None) -> dict[str, Any]:
    specs = [stack_spec(i) for i in range(1, copies + 1)]
    p = provider(url, poll)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(str(Path(tmp) / "state.db"))
        async with AsyncAtlas(store=store, providers={"digitalocean": p}) as a:
            start = time.time()
            ops = await asyncio.gather(*(a.apply(s) for s in specs))
            active = time.time()
            failed = [f"{o.status}: {o.error}" for o in ops if o.status != "completed"]
            if failed:
                raise RuntimeError(f"{len(failed)} applies did not complete: {failed[0]}")
            gone = await asyncio.gather(*(a.destroy(s["name"]) for s in specs))
            end = time.time()
            failed = [f"{o.status}: {o.error}" for o in gone if o.status != "completed"]
            if failed:
                raise RuntimeError(f"{len(failed)} destroys did not complete: {failed[0]}")
            stats = await limiter_stats(p)
    return {"start": start, "active": active, "end": end, "limiter": stats}


def loopback_only() -> None:
    """Refuse, in this process, to resolve or reach any host but loopback: a library that
    ignores the address it was given fails loudly instead of calling the real API."""
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in _LOOPBACK:
            raise OSError(f"benchmarks only talk to loopback, not {name!r}")
        return resolve(host, *args, **kwargs)

    socket.getaddrinfo = guarded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("workload")
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=10, help="droplets, or stack copies")
    parser.add_argument("--poll", type=float, default=None, help="atlas poll interval (s)")
    parser.add_argument("--split", type=int, default=None, help="droplets per resource")
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.0.0.1:", "http://[::1]:", "http://localhost:")):
        parser.error("benchmarks only ever talk to an emulator on loopback")
    loopback_only()
    if args.workload == "atlas":
        marks = asyncio.run(atlas_fleet(args.url, args.n, args.poll, args.split))
    elif args.workload == "atlas-stacks":
        marks = asyncio.run(atlas_stacks(args.url, args.n, args.poll))
    else:
        from benchmarks.peers import PEERS  # noqa: PLC0415 - only peers need their libraries

        marks = PEERS[args.workload](args.url, TOKEN, args.n)
    print(json.dumps(marks), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
