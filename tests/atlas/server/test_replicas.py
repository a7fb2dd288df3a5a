"""Issue 15's acceptance, smaller: three ``atlas serve`` replicas on one PostgreSQL database,
infrastructures created through them in turn against the DigitalOcean emulator (its own
process, DigitalOcean's real rate limits), with all replicas alive, and with one killed by
SIGKILL while its operations run, whose operations another replica must take over in place.
The harness is tests/replicas.py; benchmarks/replicas.py runs the full size."""

from __future__ import annotations

import pytest

from tests.replicas import Outcome, cluster, small_spec, takeover_seconds, verify

pytestmark = [pytest.mark.loopback, pytest.mark.slow]

REPLICAS = 3
INFRASTRUCTURES = 6
#: Short, so a takeover is seen within the test; the server's default is for production.
LEASE = 5.0
#: Generous: the machine has two cores shared by four servers and the test.
SETTLE = 300.0
#: Seconds from the kill within which a survivor must have claimed every orphan (a few
#: leases, and slack for a loaded machine); past it the test stops waiting.
TAKEOVER = 60.0 + 6 * LEASE


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
