"""One rate budget per cloud account, shared by every process that uses it.

A provider counts requests per credential, not per process: two ``atlas serve`` replicas (or a
server and a CLI) with one token that each kept their own window would each believe they have
the whole limit. A :class:`SharedBudget` keeps the window where every process sees it (the
state store: :mod:`atlas.store.budget`), and :class:`~atlas.http.RateLimiter` asks it for a slot
before each request, on top of its own in-process windows (which stay the default, and cost
nothing more when no budget is configured).

The rules are the limiter's, made shared:

- a slot is granted only if, in every window of the profile, fewer than ``limit`` slots count:
  a slot counts from its grant while in flight, and for the window's span after its end;
- grants for one account are serialised by the backend (SQLite's ``BEGIN IMMEDIATE``,
  PostgreSQL's row lock on the account), so no two processes can both take the last place;
- a slot whose process died in flight counts as ended ``max_flight`` seconds after its grant,
  so a crash never strands the budget;
- the provider's remaining count keeps it honest: a remaining count learned from an answer,
  less the slots granted since (by anyone), caps what the window would allow: the lower wins.

Accounts are keyed by :func:`account_key`, a SHA-256 of the credential: the store never holds a
secret.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Protocol

import attrs

from atlas.credentials import Secret
from atlas.http.profile import RateLimitProfile

__all__ = [
    "BudgetFactory",
    "Grant",
    "SharedBudget",
    "account_key",
    "budget_factory",
    "set_budget_factory",
]


def account_key(profile: RateLimitProfile, *secrets: Secret) -> str:
    """A key for the account ``secrets`` make under ``profile``: a SHA-256 hex digest of
    both, so equal credentials meet and the key reveals neither the token nor its length."""
    if not secrets:
        raise ValueError("an account is keyed by the credential's secrets; none given")
    text = "\0".join(s.reveal() for s in secrets) + "\0" + repr(profile.windows)
    return hashlib.sha256(text.encode()).hexdigest()


@attrs.frozen
class Grant:
    """The answer to :meth:`SharedBudget.grant`: a slot (then ``delay`` is 0), or no slot and
    the seconds to wait before asking again.

    ``remaining`` is how many more the shared view allows now (the least over the windows and
    the provider's last word), for the limiter's pacing; ``overlapping`` how many slots of
    this account were in flight when this one was granted.
    """

    slot: int | None
    delay: float = 0.0
    remaining: int | None = None
    overlapping: int = 0
    why: str = ""
    #: Which budget granted it (the limiter fills this in: a permit ends where it began).
    budget: SharedBudget | None = attrs.field(default=None, eq=False, repr=False)


class SharedBudget(Protocol):
    """Where one account's window lives, for every process using it."""

    def grant(self, now: float) -> Grant:
        """A slot for one request sent now (wall-clock seconds), or how long to wait."""

    def end(self, slot: int, now: float) -> None:
        """The request of ``slot`` is over (answered or not) at ``now``."""

    def learn(
        self, slot: int | None, overlapping: int, remaining: int, now: float, valid_for: float
    ) -> None:
        """The provider said ``remaining`` requests are left in its answer to ``slot``'s
        request; hold it for ``valid_for`` seconds unless a later answer says otherwise."""


#: Makes the budget of one account (its key) under one profile.
BudgetFactory = Callable[[RateLimitProfile, str], SharedBudget]

_factory: BudgetFactory | None = None
_factory_lock = threading.Lock()


def set_budget_factory(factory: BudgetFactory | None) -> BudgetFactory | None:
    """Make every shared limiter created from now on (``RateLimiter.shared``) ask a budget from
    ``factory`` (``None``: in-process windows only, the default); returns the previous one.

    Process-wide, like the limiters: whatever opens the store (``AsyncAtlas``, ``atlas serve``)
    sets it, and providers need not know a store exists.
    """
    global _factory  # one per process, as the limiter registry is
    with _factory_lock:
        previous, _factory = _factory, factory
        return previous


def budget_factory() -> BudgetFactory | None:
    """The factory :func:`set_budget_factory` set, if any."""
    with _factory_lock:
        return _factory
