"""Placement constraints: where a ``provider: any`` spec may go.

```yaml
provider: any
placement:
  providers: [digitalocean, aws]   # allowed, in order of preference (breaks ties)
  regions: [eu, us-east-1]         # region groups (eu, us, ...) or region names
  features: [ipv6]                 # every one offered in the region
  budget: 150                      # USD a month at most, the whole spec
```

Every key is optional: no constraint at all lets every installed provider that has a
translator compete in every one of its regions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from atlas.exceptions import Problem
from atlas.portable.contract import REGION_GROUPS

__all__ = ["PLACEMENT_FIELDS", "Placement", "parse_placement"]

PLACEMENT_FIELDS = ("providers", "regions", "features", "budget", "currency")


@attrs.frozen
class Placement:
    """Constraints on where a portable spec is placed (see the module docstring).

    ``providers`` and ``regions`` are in the user's order of preference: among equally priced
    candidates the earlier one wins. ``regions`` holds region names and group names (keys of
    :data:`~atlas.portable.contract.REGION_GROUPS`); a region name may be qualified by its
    provider (``aws/eu-west-1``).
    """

    providers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    budget: Decimal | None = None
    currency: str = "USD"

    def admits_group(self, group: str, region: str, provider: str) -> int | None:
        """The rank of the first entry of :attr:`regions` that admits a region (its name, its
        qualified name or its group), or ``None`` if none does; 0 when there is no
        constraint on regions."""
        if not self.regions:
            return 0
        for rank, entry in enumerate(self.regions):
            if entry in (region, f"{provider}/{region}", group):
                return rank
        return None


def parse_placement(value: Any, path: str = "placement") -> tuple[Placement | None, list[Problem]]:
    """The :class:`Placement` a spec's ``placement`` gives, or the problems with it (each with
    its exact path). ``None`` (the key absent) is no constraint."""
    problems: list[Problem] = []
    if value is None:
        return Placement(), problems
    if not isinstance(value, Mapping):
        return None, [Problem(path, f"expected a mapping, got {type(value).__name__}")]
    for key in value:
        if key not in PLACEMENT_FIELDS:
            problems.append(
                Problem(f"{path}.{key}", f"unknown field (known: {', '.join(PLACEMENT_FIELDS)})")
            )
    providers = _words(value, "providers", path, problems)
    regions = _words(value, "regions", path, problems)
    features = _words(value, "features", path, problems)
    raw = value.get("regions", ())
    for i, entry in enumerate([raw] if isinstance(raw, str) else raw):
        if isinstance(entry, str) and "/" in entry and entry.split("/", 1)[1] in REGION_GROUPS:
            problems.append(
                Problem(f"{path}.regions[{i}]", "a region group is not qualified by a provider")
            )
    budget = _budget(value.get("budget"), f"{path}.budget", problems)
    currency = value.get("currency", "USD")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        problems.append(Problem(f"{path}.currency", "expected a currency code such as USD"))
        currency = "USD"
    if problems:
        return None, problems
    return Placement(providers, regions, features, budget, currency.upper()), problems


def _words(doc: Mapping[str, Any], key: str, path: str, problems: list[Problem]) -> tuple[str, ...]:
    value = doc.get(key, ())
    here = f"{path}.{key}"
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Sequence):
        problems.append(Problem(here, f"expected a list of names, got {type(value).__name__}"))
        return ()
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            problems.append(Problem(f"{here}[{i}]", "expected a non-empty string"))
        elif item in out:
            problems.append(Problem(f"{here}[{i}]", f"{item!r} is listed twice"))
        else:
            out.append(item)
    return tuple(out)


def _budget(value: Any, path: str, problems: list[Problem]) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        problems.append(Problem(path, "expected an amount per month, such as 150"))
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        problems.append(Problem(path, f"{value!r} is not an amount"))
        return None
    if not amount.is_finite() or amount <= 0:
        problems.append(Problem(path, "must be a positive amount per month"))
        return None
    return amount
