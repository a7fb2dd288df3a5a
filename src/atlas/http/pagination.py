"""How a list endpoint hands out its items a page at a time: pagination strategies.

A :class:`Paginator` says how to ask for the first page and, from each answer, how to ask for
the next. :meth:`ApiClient.paginate <atlas.http.ApiClient.paginate>` does the rest for every
strategy alike: it reads the items, refuses a next page on another host and a next page it has
already fetched (a server looping would otherwise never end), and retries each page like any
GET. :class:`NextLink` covers APIs that put the next page's URL in the body; an API that pages
by token or by ``Link`` header brings its own paginator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import attrs
import httpx

__all__ = ["NextLink", "PageRequest", "Paginator"]


@attrs.frozen
class PageRequest:
    """One page to GET: a path relative to the API (or an absolute URL on it) and its query."""

    url: str
    params: Mapping[str, Any] = attrs.field(factory=dict)


class Paginator(Protocol):
    """A pagination strategy."""

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        """The request for the first page of ``path`` filtered by ``params``."""
        ...

    def next(
        self, page: PageRequest, response: httpx.Response, body: Mapping[str, Any]
    ) -> PageRequest | None:
        """The request for the page after ``page``, from its answer; ``None`` after the last."""
        ...


def _key_path(keys: str | Iterable[str]) -> tuple[str, ...]:
    # One string is one key, dots and all (``"@odata.nextLink"``), never its letters.
    return (keys,) if isinstance(keys, str) else tuple(keys)


def _at(body: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = body
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@attrs.frozen
class NextLink:
    """The next page's URL sits in the body at ``link``, a key or a path of keys:
    ``("links", "next")`` reads ``{"links": {"next": "https://..."}}``, ``"nextLink"`` a
    top-level key. A body without it (in any shape) is the last page.

    ``size_param`` and ``page_size`` ask for pages of that many items (the first page, and any
    next link that leaves the size out). The query of the link wins; the first page's filters
    carry over when the link omits them, so every page means the same list.
    """

    link: tuple[str, ...] = attrs.field(converter=_key_path)
    size_param: str | None = None
    page_size: int | None = None

    def __attrs_post_init__(self) -> None:
        if not self.link:
            raise ValueError("link must name the key path of the next page's URL")
        if (self.size_param is None) != (self.page_size is None):
            raise ValueError("size_param and page_size come together")

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        query = dict(params)
        if self.size_param is not None:
            query.setdefault(self.size_param, self.page_size)
        return PageRequest(path, query)

    def next(
        self, page: PageRequest, response: httpx.Response, body: Mapping[str, Any]
    ) -> PageRequest | None:
        del response  # the link is in the body
        link = _at(body, self.link)
        if not isinstance(link, str) or not link:
            return None
        url = httpx.URL(link)
        return PageRequest(str(url.copy_with(query=None)), {**page.params, **dict(url.params)})
