"""Credentials: a redacting ``Secret`` and a chain of places a credential may come from.

A chain tries its sources in order — an explicit value, environment variables, then the
ControlVector Context Manager — and returns the first credential found. When none is found,
``CredentialsError`` names every source tried and why each failed, never a secret::

    chain = provider_info.credentials.chain(jwt=request_jwt)
    token = await chain.resolve()          # a Secret; token.reveal() gives the string

Sources are small attrs classes with one ``async lookup() -> Secret`` method that raises
``CredentialsError`` with a short reason. Each provider declares where its credential may come
from with a :class:`CredentialSpec` (its environment names and Context Manager key); the core
builds the chain from that, so no provider's names live here.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol
from urllib.parse import quote

import attrs

from atlas.exceptions import CredentialsError

if TYPE_CHECKING:  # the HTTP client is imported when the Context Manager is asked
    import httpx

__all__ = [
    "ContextManagerSource",
    "CredentialChain",
    "CredentialSource",
    "CredentialSpec",
    "EnvironmentSource",
    "ExplicitSource",
    "Secret",
    "credential_chain",
]

DEFAULT_CONTEXT_MANAGER_URL = "http://localhost:3002"
# The old Context Manager client used 10 s; a credential store that is down must not hang a plan.
CONTEXT_MANAGER_TIMEOUT = 10.0

# Visible ASCII only: anything else (a trailing newline from `$(cat token)`, a non-ASCII
# character) makes httpx or h11 raise an error whose repr contains the whole header value.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


class Secret:
    """A string that does not show itself: ``repr`` and ``str`` print ``Secret('***')``.

    ``reveal()`` returns the value for the one place that needs it (an ``Authorization``
    header). Equality compares values in constant time. A Secret is deliberately unhashable
    (a hash is a cheap oracle for guessing the value) and refuses to be pickled, so it cannot
    be written to disk in clear by accident; copying returns the same immutable object.
    """

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a Secret holds a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """Return the secret value; keep it out of logs, messages and reprs."""
        return self._value

    def is_header_safe(self) -> bool:
        """True when the value can go into an HTTP header without being rejected."""
        return _HEADER_SAFE.fullmatch(self._value) is not None

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; store where it comes from, not its value")


class CredentialSource(Protocol):
    """One place a credential may come from."""

    def describe(self) -> str:
        """A short, secret-free name for messages, e.g. ``env NIMBUS_TOKEN``."""
        ...

    async def lookup(self) -> Secret:
        """Return the credential, or raise ``CredentialsError`` saying why there is none."""
        ...


def _usable(value: str) -> Secret:
    # Surrounding whitespace is a copy-and-paste artefact, never part of a token.
    value = value.strip()
    if not value:
        raise CredentialsError("set but empty")
    secret = Secret(value)
    if not secret.is_header_safe():
        raise CredentialsError("contains spaces, control or non-ASCII characters")
    return secret


@attrs.frozen
class ExplicitSource:
    """A value the caller passed in (``None`` when they did not)."""

    value: Secret | str | None = attrs.field(default=None, repr=False)

    def describe(self) -> str:
        return "explicit value"

    async def lookup(self) -> Secret:
        if self.value is None:
            raise CredentialsError("not given")
        raw = self.value.reveal() if isinstance(self.value, Secret) else self.value
        return _usable(raw)


@attrs.frozen
class EnvironmentSource:
    """One environment variable; ``env`` defaults to ``os.environ`` at lookup time."""

    name: str
    env: Mapping[str, str] | None = attrs.field(default=None, repr=False, eq=False)

    def describe(self) -> str:
        return f"env {self.name}"

    async def lookup(self) -> Secret:
        env = os.environ if self.env is None else self.env
        value = env.get(self.name)
        if value is None:
            raise CredentialsError("not set")
        return _usable(value)


@attrs.frozen
class ContextManagerSource:
    """A credential stored in the ControlVector Context Manager for the caller's workspace.

    Asked only when the caller's JWT is at hand; ``transport`` lets tests answer in-process.
    """

    key: str
    jwt: Secret | None = attrs.field(default=None, repr=False)
    url: str = DEFAULT_CONTEXT_MANAGER_URL
    timeout: float = CONTEXT_MANAGER_TIMEOUT
    transport: httpx.AsyncBaseTransport | None = attrs.field(default=None, repr=False, eq=False)

    def describe(self) -> str:
        return f"context manager at {self.url}"

    async def lookup(self) -> Secret:
        if self.jwt is None:
            raise CredentialsError("skipped, no JWT given")
        if not self.jwt.is_header_safe():
            raise CredentialsError("skipped, the JWT contains characters a header cannot carry")
        endpoint = f"{self.url.rstrip('/')}/api/v1/context/secret/credential/{quote(self.key)}"
        headers = {"Authorization": f"Bearer {self.jwt.reveal()}", "Accept": "application/json"}
        import httpx  # noqa: PLC0415 - only a lookup needs it (httpx costs ~0.1 s to import)

        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.get(endpoint, headers=headers)
        except httpx.TimeoutException:
            raise CredentialsError(f"timed out after {self.timeout:g}s") from None
        except httpx.RequestError as exc:
            # The exception's own text is left out: it may carry the request, JWT included.
            raise CredentialsError(f"unreachable ({type(exc).__name__})") from None
        return self._read(response)

    def _read(self, response: httpx.Response) -> Secret:
        status = response.status_code
        if status == 404:
            raise CredentialsError(f"no credential {self.key!r} stored")
        if status in (401, 403):
            raise CredentialsError(f"the JWT was refused ({status})")
        if status != 200:
            raise CredentialsError(f"answered HTTP {status}")
        try:
            body = response.json()
            value = body["data"]["value"]
        except (ValueError, KeyError, TypeError):
            raise CredentialsError("answered 200 without data.value") from None
        if not isinstance(value, str):
            raise CredentialsError("answered 200 with a non-string data.value")
        return _usable(value)


@attrs.frozen
class CredentialChain:
    """Sources tried in order; ``what`` names the credential in the error message."""

    what: str
    sources: tuple[CredentialSource, ...]

    async def resolve(self) -> Secret:
        """Return the first credential found, or raise ``CredentialsError`` naming every source."""
        tried: list[str] = []
        for source in self.sources:
            try:
                return await source.lookup()
            except CredentialsError as exc:
                tried.append(f"{source.describe()}: {exc}")
        raise CredentialsError(f"no {self.what} found", sources_tried=tried)


def credential_chain(
    what: str,
    *,
    key: str,
    env_names: Sequence[str],
    explicit: Secret | str | None = None,
    jwt: Secret | str | None = None,
    env: Mapping[str, str] | None = None,
    context_manager_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CredentialChain:
    """Build the standard chain: explicit value, then ``env_names`` in order, then the
    Context Manager under ``key`` (at ``context_manager_url``, else ``$CONTEXT_MANAGER_URL``,
    else ``http://localhost:3002``)."""
    environ = os.environ if env is None else env
    url = context_manager_url or environ.get("CONTEXT_MANAGER_URL") or DEFAULT_CONTEXT_MANAGER_URL
    if isinstance(jwt, str):
        jwt = Secret(jwt.strip()) if jwt.strip() else None
    sources: list[CredentialSource] = [ExplicitSource(explicit)]
    sources += [EnvironmentSource(name, env) for name in env_names]
    sources.append(ContextManagerSource(key, jwt, url, transport=transport))
    return CredentialChain(what, tuple(sources))


@attrs.frozen
class CredentialSpec:
    """Where a provider's credential may come from, as the provider declares it.

    ``what`` names it in messages (``"Nimbus API token"``), ``env_names`` are tried in order,
    then the Context Manager under ``context_key`` when the caller's JWT is at hand.
    """

    what: str
    env_names: tuple[str, ...]
    context_key: str

    def chain(
        self,
        explicit: Secret | str | None = None,
        *,
        jwt: Secret | str | None = None,
        env: Mapping[str, str] | None = None,
        context_manager_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> CredentialChain:
        """The standard chain (see :func:`credential_chain`) for this credential."""
        return credential_chain(
            self.what,
            key=self.context_key,
            env_names=self.env_names,
            explicit=explicit,
            jwt=jwt,
            env=env,
            context_manager_url=context_manager_url,
            transport=transport,
        )
