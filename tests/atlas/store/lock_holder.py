"""Run as a separate process: take an infrastructure's lock in a store file, then wait.

    python -m tests.atlas.store.lock_holder <location> <infrastructure_id> <operation_id>

The location is a SQLite file's path or a PostgreSQL URL, as ``open_store`` takes it.

Prints ``locked`` once it holds the lock and then waits until stdin closes (or it is killed);
prints ``refused <operation_id> <since>`` and then the message when the lock is held, exit 3.
"""

from __future__ import annotations

import sys

from atlas.exceptions import LockedError
from atlas.store import open_store


def main(location: str, infrastructure_id: str, operation_id: str) -> int:
    with open_store(location) as store:
        try:
            store.lock(infrastructure_id, operation_id)
        except LockedError as exc:
            print(f"refused {exc.operation_id} {exc.since}\n{exc}", flush=True)
            return 3
        print("locked", flush=True)
        sys.stdin.read()  # hold until the parent closes our stdin
        store.unlock(infrastructure_id, operation_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
