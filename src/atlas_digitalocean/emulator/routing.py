"""The route table: (method, path template) pairs compiled to regexes, matched in order.

Each endpoint module keeps a :class:`Routes` and registers every handler where it is
written, so an endpoint's template stands next to its code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import attrs

from atlas_digitalocean.emulator.exchange import Call, Reply

if TYPE_CHECKING:
    from atlas_digitalocean.emulator.state import State

Handler = Callable[["State", Call], Reply]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _compile(template: str) -> re.Pattern[str]:
    pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", template)
    return re.compile(pattern)


@attrs.frozen
class Route:
    """One endpoint. ``template`` uses the OpenAPI document's parameter names, so request
    counters read like the spec (``GET /v2/droplets/{droplet_id}``)."""

    method: str
    template: str
    handler: Handler
    regex: re.Pattern[str] = attrs.field(init=False)

    @regex.default
    def _regex(self) -> re.Pattern[str]:
        return _compile(self.template)

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


class Routes:
    """One module's endpoints, in the order they were registered."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def __call__(self, method: str, template: str) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``method template``."""

        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Register ``handler`` for ``method template``."""
        self._routes.append(Route(method, template, handler))

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)


@attrs.frozen
class Match:
    """The outcome of routing: a route with its parameters, or why there is none."""

    route: Route | None
    params: dict[str, str]
    path_known: bool


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)

    def match(self, method: str, path: str) -> Match:
        path_known = False
        for route in self._routes:
            found = route.regex.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                return Match(route, found.groupdict(), True)
            path_known = True
        return Match(None, {}, path_known)
