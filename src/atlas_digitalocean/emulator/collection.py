"""What the endpoints of every kind of object share: finding one by its path, answering
with one, listing, deleting, and marking a new one as made by the call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Generic

import attrs

from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, paginate
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import K, R, State, Table


@attrs.frozen
class Collection(Generic[K, R]):
    """A kind of object the API serves at ``/v2/{plural}`` and ``/v2/{plural}/{param}``.

    :param singular: the envelope key of one object (``{"vpc": {...}}``).
    :param plural: the path segment and the envelope key of a list.
    :param param: the path parameter naming one, as DigitalOcean's OpenAPI document calls it.
    :param table: where the state keeps them.
    :param key: an id from its text in a path; raises a 404 for text that names none.
    :param render: the wire form of one.
    :param select: what a list shows for the call's query; everything without it.
    :param destroy: how one goes away, raising an ``ApiError`` where it may not; without it,
        it is simply forgotten.
    :param paged: whether lists are paginated (DigitalOcean's database list is not).
    """

    singular: str
    plural: str
    param: str
    table: Callable[[State], Table[K, R]]
    key: Callable[[str], K]
    render: Callable[[State, R], JSON]
    select: Callable[[State, Call], list[R]] | None = None
    destroy: Callable[[State, R], None] | None = None
    paged: bool = True

    def path(self, key: K) -> str:
        """The API path of one object."""
        return f"/v2/{self.plural}/{key}"

    def lookup(self, state: State, raw: str) -> R:
        """The object ``raw`` (an id as text) names; a 404 when there is none."""
        return self.table(state).find(self.key(raw))

    def find(self, state: State, call: Call) -> R:
        """The object the call's path names; a 404 when there is none."""
        return self.lookup(state, call.params[self.param])

    def reply(self, state: State, record: R, status: int = 200) -> Reply:
        """An answer with one object in its envelope."""
        return Reply(status, {self.singular: self.render(state, record)})

    def made(self, state: State, call: Call, record: R, status: int) -> Reply:
        """Keep a new object, note that this call made it (for the faults that hide fresh
        objects from reads) and answer with it."""
        self.table(state).add(record)
        call.created.append(self.path(record.id))
        return self.reply(state, record, status)

    def page(self, state: State, call: Call, records: Sequence[R]) -> Reply:
        """One page of ``records``, as the call's query asks, in the list envelope."""
        return Reply(200, paginate(call, self.plural, records, partial(self.render, state)))

    def render_all(self, state: State) -> list[JSON]:
        """Every object of the kind, as the API renders them."""
        return [self.render(state, record) for record in self.table(state).values()]

    # -- endpoints ------------------------------------------------------------------------------

    def serve(self, routes: Routes, *, delete: bool = True) -> None:
        """Register the endpoints every kind has: ``GET /v2/{plural}``, ``GET`` and (unless
        ``delete`` is false) ``DELETE`` of ``/v2/{plural}/{param}``."""
        item = f"/v2/{self.plural}/{{{self.param}}}"
        routes.add("GET", f"/v2/{self.plural}", self.handle_list)
        routes.add("GET", item, self.handle_get)
        if delete:
            routes.add("DELETE", item, self.handle_delete)

    def handle_get(self, state: State, call: Call) -> Reply:
        """``GET /v2/{plural}/{param}``."""
        return self.reply(state, self.find(state, call))

    def handle_list(self, state: State, call: Call) -> Reply:
        """``GET /v2/{plural}``."""
        found = self.select(state, call) if self.select else list(self.table(state).values())
        if not self.paged:
            return Reply(200, {self.plural: [self.render(state, record) for record in found]})
        return self.page(state, call, found)

    def handle_delete(self, state: State, call: Call) -> Reply:
        """``DELETE /v2/{plural}/{param}``."""
        record = self.find(state, call)
        if self.destroy is None:
            del self.table(state)[record.id]
        else:
            self.destroy(state, record)
        return Reply(204)
