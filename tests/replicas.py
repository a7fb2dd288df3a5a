"""Several ``atlas serve`` replicas on one PostgreSQL database, against the DigitalOcean
emulator in a process of its own with DigitalOcean's real rate limits: issue 15's acceptance,
shared by ``tests/atlas/server/test_replicas.py`` and ``benchmarks/replicas.py``.

:func:`cluster` starts everything and tears all of it down, whatever happens: a fresh database
(dropped at the end), the emulator (``python -m tests.replicas emulator``, which writes its
request log and every object it holds to a file when it is stopped, so nothing the harness
asks of it counts against the account's rate limit), and N replicas, each on its own port, all
authenticating one JWT secret and sharing one DigitalOcean token. A :class:`Cluster` creates
infrastructures through the replicas in turn, follows their operations through whichever
replica is alive, kills one with SIGKILL, and :func:`verify` checks the acceptance: every
operation ``completed``, every cloud object exactly once, no 429, no sliding minute above 250.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import jwt
from benchmarks.harness import PER_MINUTE, REPO, child_env, emulator_config, free_port
from benchmarks.replicas_budget import busiest_minute

from tests.postgres import fresh_database

__all__ = [
    "LEASE_ENV",
    "Cluster",
    "EmulatorRun",
    "Outcome",
    "Replica",
    "cluster",
    "small_spec",
    "stack_spec",
    "verify",
]

#: Made up: the emulator accepts any token; every replica uses this one, so they share one
#: account's rate limit, as replicas of one installation do.
DO_TOKEN = "dop_v1_" + "5eed" * 16
#: Made up, long enough for HS256; the replicas accept JWTs signed with it.
JWT_SECRET = "replicas-shared-secret-" + "r" * 48
WORKSPACE = "ws-replicas"
#: How long a replica's claim on an operation lasts without a heartbeat. The name is the one
#: issue 15's takeover is expected to read; a replica that does not know it ignores it.
LEASE_ENV = "ATLAS_LEASE_SECONDS"
#: Emulator collections (its plural names) by atlas resource type.
COLLECTIONS = {
    "vpc": "vpcs",
    "droplet": "droplets",
    "volume": "volumes",
    "database": "databases",
    "load_balancer": "load_balancers",
    "firewall": "firewalls",
}
FINISHED = ("completed", "failed")
#: Seconds a POST of an infrastructure may take to be answered (see Cluster.create_all).
POST_TIMEOUT = 300.0


# -- specs --------------------------------------------------------------------------------------


def small_spec(index: int, *, droplets: int = 2) -> dict[str, Any]:
    """A VPC and ``droplets`` droplets in it, named ``rep<index>``, with a VPC range of its own."""
    return {
        "name": f"rep{index:03d}",
        "provider": "digitalocean",
        "region": "fra1",
        "resources": [
            {"type": "vpc", "name": "net", "specifications": {"ip_range": _ip_range(index)}},
            {
                "type": "droplet",
                "name": "web",
                "specifications": {
                    "size": "s-1vcpu-1gb",
                    "image": "ubuntu-24-04-x64",
                    "count": droplets,
                    "vpc": "net",
                },
            },
        ],
        "tags": {"env": "replicas"},
    }


def stack_spec(index: int) -> dict[str, Any]:
    """``examples/stack.yaml`` named ``shop<index>``, its VPC given a range of its own."""
    import yaml

    doc: dict[str, Any] = yaml.safe_load((REPO / "examples" / "stack.yaml").read_text())
    doc = copy.deepcopy(doc)
    doc["name"] = f"shop{index:03d}"
    for resource in doc["resources"]:
        if resource["type"] == "vpc":
            resource["specifications"]["ip_range"] = _ip_range(index)
    return doc


def _ip_range(index: int) -> str:
    # Two VPCs of one region may not overlap: the index-th /20 from 10.1.0.0 on.
    offset = 16 * index
    return f"10.{1 + offset // 256}.{offset % 256}.0/20"


# -- the emulator, in its own process -----------------------------------------------------------


@attrs.frozen
class EmulatorRun:
    """What the emulator received (``(key, status, at)`` per request, ``at`` in wall-clock
    seconds) and every object it held when it stopped, by collection."""

    requests: tuple[tuple[str, int | None, float], ...]
    objects: Mapping[str, Sequence[Mapping[str, Any]]]

    @property
    def throttled(self) -> int:
        return sum(1 for _key, status, _at in self.requests if status == 429)

    @property
    def busiest_minute(self) -> int:
        return busiest_minute([at for _key, _status, at in self.requests])


class EmulatorProcess:
    """``python -m tests.replicas emulator`` (loopback, DigitalOcean's real rate limits)."""

    def __init__(self, workdir: Path, *, droplet_limit: int) -> None:
        self._out = workdir / "emulator.json"
        self._log = (workdir / "emulator.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.replicas", "emulator", "--out", str(self._out),
             "--droplet-limit", str(droplet_limit)],
            cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=self._log, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("{"):
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.url: str = json.loads(line)["url"]

    def stop(self) -> EmulatorRun | None:
        """Stop it (SIGTERM: it writes what it saw, then exits); what it saw, if it could."""
        _terminate(self.proc)
        self._log.close()
        if not self._out.exists():
            return None
        data = json.loads(self._out.read_text())
        requests = tuple((key, status, at) for key, status, at in data["requests"])
        return EmulatorRun(requests, data["objects"])


def _emulator_main(argv: Sequence[str]) -> int:
    """Serve the emulator until SIGTERM, then write its request log and objects to ``--out``."""
    from atlas_digitalocean.emulator import Latencies, serve

    parser = argparse.ArgumentParser(prog="python -m tests.replicas emulator")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--droplet-limit", type=int, default=1000)
    args = parser.parse_args(argv)
    config = emulator_config(droplet_limit=args.droplet_limit, latencies=Latencies())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    served = serve("127.0.0.1", 0, config)
    print(json.dumps({"url": served.url}), flush=True)
    stop.wait()
    emulator = served.emulator
    requests = [(r.key, r.status, r.at) for r in emulator.log.records]
    objects = {kind: emulator.objects(kind) for kind in COLLECTIONS.values()}
    served.close()
    partial = args.out.with_suffix(".partial")
    partial.write_text(json.dumps({"requests": requests, "objects": objects}))
    partial.replace(args.out)  # whole or absent: the harness never reads half a file
    return 0


# -- replicas -----------------------------------------------------------------------------------


class Replica:
    """``atlas serve`` in a child process on a free port, its output in files (a pipe nobody
    reads until the end would fill, and stop the replica mid-run)."""

    def __init__(self, index: int, env: Mapping[str, str], workdir: Path) -> None:
        self.index = index
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.killed_at: float | None = None
        self._stdout = (workdir / f"replica{index}.out").open("w")
        self._stderr_path = workdir / f"replica{index}.log"
        self._stderr = self._stderr_path.open("w")
        full = {**child_env(), **env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "atlas", "serve"],
            cwd=REPO, env=full, stdout=self._stdout, stderr=self._stderr,
        )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if not self.alive:
                break
            time.sleep(0.2)
        raise RuntimeError(f"replica {self.index} did not become healthy:\n{self.log_tail()}")

    def kill(self) -> float:
        """SIGKILL, as a machine dies: no shutdown, no lease released; when it died."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.killed_at = time.time()
        return self.killed_at

    def stop(self) -> None:
        _terminate(self.proc)
        self._stdout.close()
        self._stderr.close()

    def log_tail(self, lines: int = 30) -> str:
        self._stderr.flush()
        text = self._stderr_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _terminate(proc: subprocess.Popen[Any], grace: float = 30.0) -> None:
    """SIGTERM, and SIGKILL if it has not exited within ``grace`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    if proc.stdout is not None:
        proc.stdout.close()


def replica_env(state: str, emulator_url: str, *, lease: float) -> dict[str, str]:
    """What every replica is started with: the shared store, JWT authentication, the
    emulator as DigitalOcean, and the lease length."""
    return {
        "ATLAS_STATE": state,
        "ATLAS_JWT_SECRET": JWT_SECRET,
        "DIGITALOCEAN_API_URL": emulator_url,
        "DIGITALOCEAN_TOKEN": DO_TOKEN,
        LEASE_ENV: f"{lease:g}",
        # Worker processes per replica would put a dozen interpreters on a 2-core machine;
        # the specs here are small enough for threads.
        "ATLAS_CPU_PROCESSES": "0",
        "LOG_LEVEL": "info",
    }


def mint_jwt(workspace: str = WORKSPACE, *, lifetime: float = 6 * 3600) -> str:
    """A JWT every replica accepts (HS256, the claims the server reads)."""
    claims = {"workspace_id": workspace, "user_id": "harness", "exp": int(time.time() + lifetime)}
    return jwt.encode(claims, JWT_SECRET, "HS256")


# -- the cluster --------------------------------------------------------------------------------


@attrs.frozen
class Submission:
    """An infrastructure created through replica ``replica``, and its operation."""

    spec: Mapping[str, Any]
    operation_id: str
    replica: int
    at: float
    #: Seconds the POST took to be answered.
    answered_in: float


@attrs.define
class Cluster:
    """Replicas sharing one store and one emulator; talks to them over HTTP only."""

    replicas: list[Replica]
    emulator: EmulatorProcess
    token: str
    submissions: list[Submission] = attrs.field(factory=list)
    _reads: int = 0
    #: When each of the killed replica's unfinished operations was first seen changed.
    taken_over: dict[str, float] = attrs.field(factory=dict)

    def client(self, replica: Replica, timeout: float = 60.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=replica.url, headers=headers, timeout=timeout)

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive and r.killed_at is None]

    def create_all(self, specs: Sequence[Mapping[str, Any]]) -> list[Submission]:
        """POST each spec to the next replica in turn; the operations they started."""
        for i, doc in enumerate(specs):
            replica = self.replicas[i % len(self.replicas)]
            began = time.time()
            # Generous: with twenty stacks running, one replica took over 30 s to answer one
            # (benchmark 11, on main at beb6fbf); the answer times are reported.
            with self.client(replica, timeout=POST_TIMEOUT) as c:
                r = c.post("/api/v1/infrastructure", json=doc)
            if r.status_code != 201:
                raise AssertionError(f"replica {replica.index} refused {doc['name']}: {r.text}")
            op_id = r.json()["operation"]["id"]
            took = time.time() - began
            self.submissions.append(Submission(doc, op_id, replica.index, began, took))
        return self.submissions

    def get(self, path: str) -> dict[str, Any]:
        """``GET path`` from the live replicas in turn (each read from the next, so every
        replica answers for operations the others run), trying the next on a failure."""
        errors = []
        alive = self.alive()
        if not alive:
            raise AssertionError(f"no replica is alive to answer GET {path}")
        self._reads += 1
        for replica in alive[self._reads % len(alive) :] + alive[: self._reads % len(alive)]:
            try:
                with self.client(replica) as c:
                    r = c.get(path)
            except httpx.TransportError as exc:
                errors.append(f"replica {replica.index}: {exc!r}")
                continue
            if r.status_code == 200:
                doc: dict[str, Any] = r.json()
                return doc
            errors.append(f"replica {replica.index}: {r.status_code} {r.text[:200]}")
        raise AssertionError(f"no live replica answered GET {path}: {errors}")

    def operations(self) -> dict[str, dict[str, Any]]:
        return {
            s.operation_id: self.get(f"/api/v1/operations/{s.operation_id}")["operation"]
            for s in self.submissions
        }

    def kill_while_running(self, index: int, timeout: float = 120.0) -> dict[str, dict[str, Any]]:
        """SIGKILL replica ``index`` once one of the operations it accepted is in progress;
        its unfinished operations as the store held them when it died."""
        mine = [s.operation_id for s in self.submissions if s.replica == index]
        deadline = time.monotonic() + timeout
        while not any(self._status(op) == "in_progress" for op in mine):
            if time.monotonic() > deadline:
                raise AssertionError(f"no operation of replica {index} ran within {timeout} s")
            time.sleep(0.1)
        self.replicas[index].kill()
        ops = {op: self.get(f"/api/v1/operations/{op}")["operation"] for op in mine}
        return {op: doc for op, doc in ops.items() if doc["status"] not in FINISHED}

    def _status(self, operation_id: str) -> str:
        status: str = self.get(f"/api/v1/operations/{operation_id}")["operation"]["status"]
        return status

    def wait_all(
        self,
        timeout: float,
        *,
        orphans: Mapping[str, Mapping[str, Any]] | None = None,
        takeover_within: float | None = None,
        interval: float = 0.5,
    ) -> dict[str, dict[str, Any]]:
        """Every operation once all have ended, or as they are at ``timeout``. An orphan (an
        operation the killed replica held) is taken over when a survivor first changes it;
        with ``takeover_within``, waiting also ends once everything else has ended and an
        orphan is still untouched that many seconds after the kill."""
        orphans = orphans or {}
        deadline = time.monotonic() + timeout
        while True:
            ops = self.operations()
            now = time.time()
            for op_id, before in orphans.items():
                if op_id not in self.taken_over and ops[op_id] != before:
                    self.taken_over[op_id] = now
            if all(op["status"] in FINISHED for op in ops.values()):
                return ops
            if time.monotonic() > deadline or self._abandoned(ops, orphans, takeover_within):
                return ops
            time.sleep(interval)

    def _abandoned(
        self, ops: Mapping[str, Mapping[str, Any]], orphans: Mapping[str, Any], within: float | None
    ) -> bool:
        killed = [r.killed_at for r in self.replicas if r.killed_at is not None]
        if within is None or not killed or time.time() - killed[0] < within:
            return False
        others_done = all(doc["status"] in FINISHED for op, doc in ops.items() if op not in orphans)
        return others_done and bool(set(orphans) - set(self.taken_over))

    def infrastructures(self) -> list[dict[str, Any]]:
        names = [s.spec["name"] for s in self.submissions]
        return [self.get(f"/api/v1/infrastructure/{name}")["infrastructure"] for name in names]

    def finish(self) -> EmulatorRun:
        """Stop the replicas, then the emulator (so it has seen all they sent); what it saw."""
        _stop_all(self.replicas)
        run = self.emulator.stop()
        if run is None:
            raise AssertionError("the emulator wrote no record of its run")
        return run


@contextlib.contextmanager
def cluster(
    replicas: int = 3, *, lease: float = 10.0, droplet_limit: int = 1000, ready: float = 120.0
) -> Iterator[Cluster]:
    """A fresh database, the emulator and ``replicas`` replicas, all torn down on exit
    (failure included): every process stopped, the database dropped."""
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="atlas-replicas-")))
        state = stack.enter_context(fresh_database("atlas_replicas"))
        emulator = EmulatorProcess(workdir, droplet_limit=droplet_limit)
        stack.callback(emulator.stop)
        started: list[Replica] = []
        stack.callback(_stop_all, started)
        stack.callback(_keep_logs, started, workdir)
        env = replica_env(state, emulator.url, lease=lease)
        # Started together, as an orchestrator does: they migrate one database at once.
        started += [Replica(i, env, workdir) for i in range(replicas)]
        for replica in started:
            replica.wait_ready(ready)
        yield Cluster(started, emulator, mint_jwt())


def _stop_all(replicas: Sequence[Replica]) -> None:
    for replica in replicas:
        replica.stop()


def _keep_logs(replicas: Sequence[Replica], workdir: Path) -> None:
    """With ``$ATLAS_REPLICAS_LOGS`` set, copy the replicas' logs there (the working
    directory goes at exit), for reading after a failure."""
    keep = os.environ.get("ATLAS_REPLICAS_LOGS")
    if not keep:
        return
    target = Path(keep)
    target.mkdir(parents=True, exist_ok=True)
    for replica in replicas:
        source = workdir / f"replica{replica.index}.log"
        (target / source.name).write_text(source.read_text(errors="replace"))


# -- the acceptance -----------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    """What a run ended with, as read through the surviving replicas and from the emulator."""

    submissions: Sequence[Submission]
    operations: Mapping[str, Mapping[str, Any]]
    infrastructures: Sequence[Mapping[str, Any]]
    emulator: EmulatorRun
    #: The killed replica's operations unfinished when it died, as it left them.
    orphans: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)


def verify(outcome: Outcome, *, per_minute: int = PER_MINUTE) -> list[str]:
    """Every way ``outcome`` misses issue 15's acceptance, in words; empty when it meets it."""
    problems = [
        f"operation {op_id} ({doc.get('kind')}) ended {doc['status']}: {doc.get('error')}"
        for op_id, doc in outcome.operations.items()
        if doc["status"] != "completed"
    ]
    problems += _objects_once(
        outcome.submissions, outcome.infrastructures, outcome.emulator.objects
    )
    if outcome.emulator.throttled:
        problems.append(f"the emulator answered {outcome.emulator.throttled} requests 429")
    if outcome.emulator.busiest_minute > per_minute:
        problems.append(
            f"the busiest sliding minute carried {outcome.emulator.busiest_minute} requests, "
            f"more than {per_minute}"
        )
    return problems


def _objects_once(
    submissions: Sequence[Submission],
    infrastructures: Sequence[Mapping[str, Any]],
    objects: Mapping[str, Sequence[Mapping[str, Any]]],
) -> list[str]:
    """Each resource of each spec recorded with as many provider ids as it asks for, each id
    an object of the emulator named after its resource, and no object at the emulator beyond
    them (but a region's default VPC, which DigitalOcean makes itself)."""
    problems: list[str] = []
    recorded: dict[str, dict[str, str]] = {kind: {} for kind in COLLECTIONS.values()}
    by_name = {infra["name"]: infra for infra in infrastructures}
    for submission in submissions:
        infra = by_name.get(submission.spec["name"])
        if infra is None:
            problems.append(f"infrastructure {submission.spec['name']} is not recorded")
            continue
        problems += _recorded(submission.spec, infra, recorded)
    regions = {infra["region"] for infra in infrastructures}
    for kind, owners in recorded.items():
        held = [o for o in objects.get(kind, ()) if not _default_vpc(kind, o, owners, regions)]
        problems += _match(kind, owners, held)
    return problems


def _recorded(
    spec: Mapping[str, Any], infra: Mapping[str, Any], recorded: dict[str, dict[str, str]]
) -> list[str]:
    """Check ``infra``'s record against ``spec``; add its provider ids to ``recorded``."""
    problems = []
    resources = {r["name"]: r for r in infra["resources"]}
    for wanted in spec["resources"]:
        owner = f"{spec['name']}-{wanted['name']}"
        count = int(wanted.get("specifications", {}).get("count", 1))
        resource = resources.get(wanted["name"])
        ids = [str(i) for i in resource["provider_ids"]] if resource else []
        if len(ids) != count:
            problems.append(f"{owner}: {len(ids)} provider ids recorded, not {count}")
        for provider_id in ids:
            recorded[COLLECTIONS[wanted["type"]]][provider_id] = owner
    return problems


def _default_vpc(
    kind: str, obj: Mapping[str, Any], owners: Mapping[str, str], regions: set[str]
) -> bool:
    return (
        kind == "vpcs"
        and str(obj["id"]) not in owners
        and obj.get("name") in {f"default-{r}" for r in regions}
    )


def _match(kind: str, owners: Mapping[str, str], held: Sequence[Mapping[str, Any]]) -> list[str]:
    problems = []
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for obj in held:
        by_id.setdefault(str(obj["id"]), []).append(obj)
    for provider_id, owner in owners.items():
        found = by_id.get(provider_id, [])
        if len(found) != 1:
            problems.append(f"{kind} {provider_id} of {owner}: {len(found)} at the emulator")
        elif not str(found[0].get("name", "")).startswith(owner):
            problems.append(f"{kind} {provider_id} of {owner} is named {found[0].get('name')!r}")
    extra = sorted(str(o.get("name")) for o in held if str(o["id"]) not in owners)
    if extra:
        problems.append(f"{len(extra)} {kind} at the emulator no infrastructure records: {extra}")
    return problems


def takeover_seconds(the_cluster: Cluster, orphans: Mapping[str, Any]) -> float | None:
    """From the kill until the last orphan was first changed by a survivor (``None``: some
    never were, or nothing was killed)."""
    killed = [r.killed_at for r in the_cluster.replicas if r.killed_at is not None]
    if not killed or not orphans or set(orphans) - set(the_cluster.taken_over):
        return None
    return max(the_cluster.taken_over[op] for op in orphans) - killed[0]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] != ["emulator"]:
        sys.stderr.write("usage: python -m tests.replicas emulator --out FILE\n")
        return 2
    return _emulator_main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
