"""Several processes, one token: what the emulator receives with and without a shared budget.

Each of ``--processes`` workers sends ``--requests`` GETs through atlas's ApiClient with the
token every worker uses, against one emulator on loopback whose limit is ``--per-minute`` a
sliding minute (the clients are told the same limit). With ``--store`` (a SQLite file or a
``postgresql://`` URL) the workers share the store's rate budget; without, each has its own
in-process limiter, as before. Printed: the busiest sliding minute at the emulator, the 429s
it answered, and the wall time::

    python benchmarks/replicas_budget.py --processes 3 --requests 30 --per-minute 40
    python benchmarks/replicas_budget.py --processes 3 --requests 30 --per-minute 40 \\
        --store /tmp/s.db
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from atlas_digitalocean.emulator.config import EmulatorConfig, RateLimits
from atlas_digitalocean.emulator.server import serve

TOKEN = "dop_v1_" + "0" * 64
WORKER = """
import asyncio, sys
import attrs
from atlas.credentials import Secret
from atlas.http import Window
from atlas.http.budget import set_budget_factory
import atlas_digitalocean.http as do_http
from atlas_digitalocean.api import DigitalOceanAPI

url, store, count, per_minute = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
windows = (Window(per_minute, 60.0), Window(5000, 3600.0))
do_http.RATE_LIMITS = attrs.evolve(do_http.RATE_LIMITS, windows=windows)
if store:
    from atlas.store import open_store
    from atlas.store.budget import budget_for_store
    set_budget_factory(budget_for_store(open_store(store)))

async def main() -> None:
    api = DigitalOceanAPI.connect(url, Secret(sys.argv[5]))
    for _ in range(count):
        await api.client.get_json("/v2/account")
    await api.client.aclose()

asyncio.run(main())
"""


def busiest_minute(times: list[float]) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, at in enumerate(times):
        while times[lo] <= at - 60.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--per-minute", type=int, default=40)
    parser.add_argument("--store", default="")
    args = parser.parse_args()
    limits = RateLimits(per_minute=args.per_minute)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    with serve(config=EmulatorConfig(rate_limits=limits)) as served:
        started = time.monotonic()
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    served.url,
                    args.store,
                    str(args.requests),
                    str(args.per_minute),
                    TOKEN,
                ],
                env=env,
            )
            for _ in range(args.processes)
        ]
        codes = [w.wait() for w in workers]
        elapsed = time.monotonic() - started
        records = served.emulator.log.records
    answered = [r for r in records if r.status is not None]
    too_many = sum(1 for r in answered if r.status == 429)
    kind = "none" if not args.store else "postgres" if "://" in args.store else "sqlite"
    print(
        f"processes={args.processes} requests={args.requests} per_minute={args.per_minute} "
        f"store={kind}: "
        f"received={len(records)} 429s={too_many} "
        f"busiest minute={busiest_minute([r.at for r in records])}/{args.per_minute} "
        f"wall={elapsed:.1f}s exit codes={codes}"
    )


if __name__ == "__main__":
    main()
