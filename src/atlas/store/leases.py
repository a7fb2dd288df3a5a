"""Who holds a lock, and when a holder is known to be gone.

A holder is ``"<host>:<pid>"``. On the holder's own host a dead process is certain (the pid is
gone) and its lock is taken over at once, so a crashed ``atlas apply`` never leaves a workstation
waiting for a lease. On any other host only the lease can tell: a heartbeat older than the lease
means the holder stopped. A reused pid merely delays the takeover until the lease runs out.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sys

__all__ = ["current_holder", "holder_is_gone", "lease_expired"]


def current_holder() -> str:
    # Read at every call, not cached: a forked child is a different holder.
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_gone(holder: str) -> bool:
    """True only when the holder ran on this host and its process no longer exists."""
    if sys.platform == "win32":
        # os.kill(pid, 0) on Windows terminates the process; there, only the lease can tell.
        return False
    host, _, pid_text = holder.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: an existence check, nothing is delivered
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def lease_expired(heartbeat_at: dt.datetime, now: dt.datetime, lease_seconds: float) -> bool:
    return now - heartbeat_at > dt.timedelta(seconds=lease_seconds)
