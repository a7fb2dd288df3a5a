"""Issue 15's acceptance, smaller: three ``atlas serve`` replicas on one PostgreSQL database,
infrastructures created through them in turn against the DigitalOcean emulator (its own
process, DigitalOcean's real rate limits), with all replicas alive, and with one killed by
SIGKILL while its operations run, whose operations another replica must take over in place.
The harness is tests/replicas.py; benchmarks/replicas.py runs the full size."""

from __future__ import annotations

from typing import Any

import pytest

from tests.replicas import (
    EmulatorRun,
    Outcome,
    Submission,
    cluster,
    small_spec,
    takeover_seconds,
    verify,
)

REPLICAS = 3
INFRASTRUCTURES = 6
#: Short, so a takeover is seen within the test; the server's default is for production.
LEASE = 5.0
#: Generous: the machine has two cores shared by four servers and the test.
SETTLE = 300.0
#: Seconds from the kill within which a survivor must have claimed every orphan (a few
#: leases, and slack for a loaded machine); past it the test stops waiting.
TAKEOVER = 60.0 + 6 * LEASE


@pytest.mark.loopback
@pytest.mark.slow
def test_replicas_share_the_work_of_one_database() -> None:
    with cluster(REPLICAS, lease=LEASE) as replicas:
        submitted = replicas.create_all([small_spec(i) for i in range(INFRASTRUCTURES)])
        assert {s.replica for s in submitted} == set(range(REPLICAS))
        operations = replicas.wait_all(SETTLE)
        # Read through another replica than each was created through: one truth.
        infrastructures = replicas.infrastructures()
        run = replicas.finish()
    problems = verify(Outcome(submitted, operations, infrastructures, run))
    assert not problems, "\n".join(problems)
    assert {i["status"] for i in infrastructures} == {"active"}
    assert len(run.objects["droplets"]) == 2 * INFRASTRUCTURES


@pytest.mark.loopback
@pytest.mark.slow
def test_a_killed_replicas_operations_are_taken_over_in_place() -> None:
    with cluster(REPLICAS, lease=LEASE) as replicas:
        submitted = replicas.create_all([small_spec(i) for i in range(INFRASTRUCTURES)])
        orphans = replicas.kill_while_running(1)
        assert orphans, "the replica was killed after its operations had ended"
        # Past the lease, a survivor claims each orphan and resumes it under its own id.
        operations = replicas.wait_all(SETTLE, orphans=orphans, takeover_within=TAKEOVER)
        infrastructures = replicas.infrastructures()
        took = takeover_seconds(replicas, orphans)
        run = replicas.finish()
    problems = verify(Outcome(submitted, operations, infrastructures, run, orphans))
    assert not problems, "\n".join(problems)
    assert took is not None, f"orphans never changed after the kill: {sorted(orphans)}"


# -- the check itself, on made-up outcomes ------------------------------------------------------


def _outcome(**changes: Any) -> Outcome:
    """One infrastructure of a VPC and two droplets, all made once, and a clean emulator log,
    with ``changes`` applied to that picture."""
    doc = small_spec(0)
    vpc = {"id": "v-1", "name": "rep000-net-abcd1234"}
    droplets = [{"id": 11, "name": "rep000-web-1"}, {"id": 12, "name": "rep000-web-2"}]
    objects: dict[str, list[dict[str, Any]]] = {
        "vpcs": [vpc, {"id": "v-0", "name": "default-fra1"}],
        "droplets": droplets,
    }
    objects.update(changes.pop("objects", {}))
    infra = {
        "name": "rep000",
        "region": "fra1",
        "resources": changes.pop(
            "resources",
            [
                {"name": "net", "type": "vpc", "provider_ids": ["v-1"]},
                {"name": "web", "type": "droplet", "provider_ids": ["11", "12"]},
            ],
        ),
    }
    requests = changes.pop("requests", [("GET /v2/droplets", 200, float(i)) for i in range(10)])
    status = changes.pop("status", "completed")
    return Outcome(
        submissions=[Submission(doc, "op-1", 0, 0.0, 0.1)],
        operations={"op-1": {"kind": "apply", "status": status, "error": None}},
        infrastructures=[infra],
        emulator=EmulatorRun(tuple(requests), objects),
    )


def test_the_check_passes_a_run_that_meets_the_acceptance() -> None:
    assert verify(_outcome()) == []


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"status": "in_progress"}, "operation op-1 (apply) ended in_progress"),
        (
            {"objects": {"droplets": [{"id": 11, "name": "rep000-web-1"},
                                      {"id": 12, "name": "rep000-web-2"},
                                      {"id": 13, "name": "rep000-web-2"}]}},
            "1 droplets at the emulator no infrastructure records: ['rep000-web-2']",
        ),
        (
            {"objects": {"droplets": [{"id": 11, "name": "rep000-web-1"}]}},
            "droplets 12 of rep000-web: 0 at the emulator",
        ),
        (
            {"resources": [{"name": "web", "type": "droplet", "provider_ids": ["11", "12"]}]},
            "rep000-net: 0 provider ids recorded, not 1",
        ),
        ({"requests": [("GET /v2/droplets", 429, 1.0)]}, "answered 1 requests 429"),
        (
            {"requests": [("GET /v2/droplets", 200, i * 0.2) for i in range(251)]},
            "busiest sliding minute carried 251 requests, more than 250",
        ),
    ],
    ids=["unfinished", "made-twice", "missing", "unrecorded", "throttled", "over-the-limit"],
)  # fmt: skip
def test_the_check_names_each_way_a_run_misses(changes: dict[str, Any], words: str) -> None:
    problems = verify(_outcome(**changes))
    assert any(words in p for p in problems), problems
