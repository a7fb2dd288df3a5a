"""What the machine was like during a run, printed above the tables: the round trip of one
small request to the served emulator, and the speed of the CPU for plain Python.

Every figure in seconds includes requests sent one after another, so the reader needs to know
what one costs here: ``GET /v2/account`` on a kept-alive connection (as atlas, libcloud and
pydo send theirs) and on a new connection each time (as python-digitalocean sends its POSTs).
"""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import httpx

from benchmarks.harness import TOKEN, emulator_config, median, served

SAMPLES = 30


def round_trips() -> tuple[float, float]:
    """Median milliseconds: (kept-alive connection, new connection each time)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with served(emulator_config()) as emu:
        kept = []
        with httpx.Client(base_url=emu.url, headers=headers) as client:
            client.get("/v2/account")
            for _ in range(SAMPLES):
                start = time.perf_counter()
                client.get("/v2/account")
                kept.append(time.perf_counter() - start)
        fresh = []
        where = urlsplit(emu.url)
        for _ in range(SAMPLES):
            start = time.perf_counter()
            conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port)
            conn.request("GET", "/v2/account", headers=headers)
            conn.getresponse().read()
            conn.close()
            fresh.append(time.perf_counter() - start)
    return median(kept) * 1000, median(fresh) * 1000


def line() -> str:
    kept, fresh = round_trips()
    return (
        f"Emulator round trip (serve(), GET /v2/account, median of {SAMPLES}): {kept:.1f} ms on "
        f"a kept-alive connection, {fresh:.1f} ms on a new connection."
    )


def python_speed() -> float:
    """Median milliseconds of CPU time for a fixed pure-Python loop (2 million additions).

    The machines benchmarks run on are often shared: a loop like this one has taken 40 % longer
    from one minute to the next on the machine of the recorded run. Figures in seconds move
    with it; ratios taken within one run much less."""
    times = []
    for _ in range(7):
        start = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i
        times.append(time.process_time() - start)
    return median(times) * 1000


def speed_line() -> str:
    return (
        f"CPU speed (a fixed loop of 2 million Python additions, median of 7): "
        f"{python_speed():.0f} ms of CPU time."
    )
