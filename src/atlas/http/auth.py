"""How a request proves who sends it: an ``httpx.Auth`` that knows its secrets.

The client needs to know which secrets an auth holds, for two things a bare ``httpx.Auth``
hides: scrubbing them from any error text a provider echoes back, and keying the rate limiter
shared by every client of one credential. A provider's auth (a signature scheme, say)
subclasses :class:`SecretAuth`; :class:`BearerAuth` is the common case, ready made.
"""

from __future__ import annotations

import abc
from collections.abc import Generator

import httpx

from atlas.credentials import Secret
from atlas.exceptions import CredentialsError

__all__ = ["BearerAuth", "SecretAuth", "require_header_safe"]


class SecretAuth(httpx.Auth, abc.ABC):
    """An ``httpx.Auth`` over atlas :class:`~atlas.credentials.Secret` values.

    Subclasses add the credential at send time (``auth_flow``), so no client header holds it,
    list every secret they hold in :attr:`secrets`, and keep them out of their ``repr``.
    """

    @property
    @abc.abstractmethod
    def secrets(self) -> tuple[Secret, ...]:
        """Every secret this auth holds (at least one): the client redacts each of them."""


def require_header_safe(secret: Secret, what: str) -> Secret:
    """``secret`` if it can go into an HTTP header; else a ``CredentialsError`` that does not
    quote it (httpx's own error for a bad header value quotes the value)."""
    if not isinstance(secret, Secret):
        raise TypeError(f"the {what} must be an atlas.credentials.Secret, never a bare str")
    if not secret.is_header_safe():
        raise CredentialsError(f"the {what} contains spaces, control or non-ASCII characters")
    return secret


class BearerAuth(SecretAuth):
    """``Authorization: Bearer <token>``, as many clouds' APIs take their token."""

    def __init__(self, token: Secret) -> None:
        self._token = require_header_safe(token, "token")

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return (self._token,)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=Secret('***'))"
