"""Who is asking, and for which workspace.

Two ways in, both mapping a request to exactly one workspace:

- a bearer JWT signed with the platform's shared secret (``ATLAS_JWT_SECRET``, HS256), carrying
  ``workspace_id``, ``user_id`` and an expiry (``exp``). The token is kept (as a
  :class:`~atlas.credentials.Secret`) so cloud credentials can be read from the Context Manager
  on the caller's behalf. Its times are numbers (pyjwt alone would take ``"exp": "9999999999"``)
  and it expires within :attr:`AuthConfig.max_lifetime`: a session token, not a standing key.
  It cannot name the ``default`` workspace unless :attr:`AuthConfig.allow_default_workspace`;
- an API key (``Authorization: Bearer atlas_...`` or ``X-API-Key``), kept only as its SHA-256
  digest in a key file that maps it to a workspace. Keys are 256 random bits, so a fast hash is
  enough: nobody can guess one from its digest.

With neither configured, every request runs in the ``default`` workspace, and the server only
listens on loopback (see :mod:`atlas.server.settings`). A request that presents nothing, or
something invalid, when authentication is configured is refused: it never runs as a shared
workspace. Nor does one that repeats a credential header: a proxy in front that read the other
copy would have authorized someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import jwt
from starlette.datastructures import Headers

from atlas.credentials import Secret
from atlas.server.errors import ApiError

__all__ = [
    "API_KEY_PREFIX",
    "DEFAULT_MAX_LIFETIME",
    "DEFAULT_WORKSPACE",
    "ApiKey",
    "ApiKeyring",
    "AuthConfig",
    "Principal",
    "authenticate",
    "hash_api_key",
    "key_file_entry",
    "new_api_key",
    "presents_credentials",
]

DEFAULT_WORKSPACE = "default"
#: How far ahead a JWT's ``exp`` may lie: the platform issues tokens for a session.
DEFAULT_MAX_LIFETIME = 24 * 3600.0
API_KEY_PREFIX = "atlas_"
#: HS256 needs a key of at least 256 bits (RFC 7518, section 3.2).
MIN_SECRET_BYTES = 32
#: Workspace ids become part of ownership tags and log lines: keep them plain.
WORKSPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="atlas"'}
#: Credential headers, each of which a request may carry once.
_CREDENTIAL_HEADERS = ("Authorization", "X-API-Key")

Method = Literal["jwt", "api_key", "none", "resume"]


@attrs.frozen
class Principal:
    """The caller: a workspace, a user when known, and the JWT to forward (when one was used)."""

    workspace: str
    user: str | None = None
    method: Method = "none"
    jwt: Secret | None = attrs.field(default=None, repr=False)


@attrs.frozen
class ApiKey:
    """An API key as stored: a label, its workspace and the SHA-256 hex digest of the key."""

    id: str
    workspace: str
    sha256: str


def new_api_key() -> str:
    """A fresh key: shown once, stored only as :func:`hash_api_key` of it."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_file_entry(workspace: str, key: str) -> dict[str, str]:
    """The key file's entry for ``key`` in ``workspace``, under a fresh id of its own: ids
    name keys in logs and when one is revoked, so no two may share one. The id is random, not
    drawn from the key (a digest prefix would tell something about it)."""
    _check_workspace(workspace, "a new API key")
    return {
        "id": f"key-{secrets.token_hex(8)}",
        "workspace_id": workspace,
        "sha256": hash_api_key(key),
    }


@attrs.frozen
class ApiKeyring:
    """The API keys the server accepts."""

    keys: tuple[ApiKey, ...] = ()

    def __attrs_post_init__(self) -> None:
        for key in self.keys:
            if not re.fullmatch(r"[0-9a-f]{64}", key.sha256):
                raise ValueError(f"API key {key.id!r}: sha256 must be 64 lowercase hex digits")
            _check_workspace(key.workspace, f"API key {key.id!r}")

    @classmethod
    def from_json(cls, data: Any) -> ApiKeyring:
        """``{"keys": [{"id", "workspace_id", "sha256"}, ...]}``."""
        try:
            entries: Iterable[Mapping[str, Any]] = data["keys"]
            keys = tuple(ApiKey(str(e["id"]), str(e["workspace_id"]), e["sha256"]) for e in entries)
        except (TypeError, KeyError) as exc:
            raise ValueError(
                'an API key file holds {"keys": [{"id", "workspace_id", "sha256"}, ...]}'
            ) from exc
        return cls(keys)

    @classmethod
    def load(cls, path: str | Path) -> ApiKeyring:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the API key file {path}: {exc}") from None

    def find(self, presented: str) -> ApiKey | None:
        digest = hash_api_key(presented)
        found = None
        for key in self.keys:  # every entry compared, in constant time
            if hmac.compare_digest(key.sha256, digest):
                found = key
        return found


@attrs.frozen
class AuthConfig:
    """How callers authenticate; neither a secret nor keys means no authentication.

    :param leeway: seconds of clock difference allowed on ``exp``, ``nbf`` and ``iat``.
    :param max_lifetime: the furthest ahead, in seconds, a JWT's ``exp`` may lie.
    :param allow_default_workspace: accept JWTs naming the ``default`` workspace, which holds
        what the server stored while it ran without authentication (refused by default: a
        platform that mints ``workspace_id: "default"`` for someone would hand them all of it).
    """

    jwt_secret: Secret | None = attrs.field(default=None, repr=False)
    api_keys: ApiKeyring = attrs.field(factory=ApiKeyring)
    audience: str | None = None
    leeway: float = 30.0
    max_lifetime: float = DEFAULT_MAX_LIFETIME
    allow_default_workspace: bool = False

    def __attrs_post_init__(self) -> None:
        if self.jwt_secret is not None and len(self.jwt_secret.reveal()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes (HS256 needs 256 bits)"
            )
        if not (math.isfinite(self.max_lifetime) and self.max_lifetime > 0):
            raise ValueError(f"the JWT maximum lifetime must be positive, not {self.max_lifetime}")

    @property
    def enabled(self) -> bool:
        return self.jwt_secret is not None or bool(self.api_keys.keys)

    def modes(self) -> list[str]:
        modes = ["jwt"] if self.jwt_secret is not None else []
        return modes + (["api_key"] if self.api_keys.keys else [])


def authenticate(config: AuthConfig, headers: Mapping[str, str]) -> Principal:
    """The caller of a request with these headers, or :class:`ApiError` 401 (400 when a
    credential header is repeated; pass starlette's :class:`Headers` to have that seen)."""
    if not config.enabled:
        return Principal(DEFAULT_WORKSPACE)
    authorization, key = (_single(headers, name) for name in _CREDENTIAL_HEADERS)
    token = _bearer(authorization)
    if token is not None and token.startswith(API_KEY_PREFIX):
        token, key = None, token
    if key is not None:
        return _by_key(config, key)
    if token is not None:
        return _by_jwt(config, token)
    raise _unauthorized("authentication required: send Authorization: Bearer <JWT or API key>")


def presents_credentials(headers: Mapping[str, str]) -> bool:
    """Whether the request carries a credential header at all (valid or not)."""
    return any(name.lower() in headers or name in headers for name in _CREDENTIAL_HEADERS)


def _single(headers: Mapping[str, str], name: str) -> str | None:
    """The header's one value; two are refused (RFC 6750's ``invalid_request``): which one
    counts would be a guess, and a proxy guessing otherwise would disagree on who is asking."""
    if isinstance(headers, Headers):
        values = headers.getlist(name)
    else:
        found = headers.get(name.lower(), headers.get(name))
        values = [] if found is None else [found]
    if len(values) > 1:
        challenge = {
            "WWW-Authenticate": _CHALLENGE["WWW-Authenticate"] + ', error="invalid_request"'
        }
        raise ApiError(
            400,
            "BAD_REQUEST",
            f"the request has {len(values)} {name} headers; send exactly one",
            headers=challenge,
        )
    return values[0] if values else None


def _bearer(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def _by_key(config: AuthConfig, presented: str) -> Principal:
    found = config.api_keys.find(presented.strip()) if config.api_keys.keys else None
    if found is None:
        raise _unauthorized("invalid API key", invalid=True)
    return Principal(found.workspace, f"api-key:{found.id}", "api_key")


def _by_jwt(config: AuthConfig, token: str) -> Principal:
    if config.jwt_secret is None:
        raise _unauthorized("JWTs are not accepted here; use an API key", invalid=True)
    try:
        # The times are checked below: pyjwt reads them with int(), so "9999999999" passes.
        claims = jwt.decode(
            token,
            config.jwt_secret.reveal(),
            algorithms=["HS256"],
            audience=config.audience,
            options={
                "require": ["exp"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidTokenError as exc:
        # pyjwt's messages name the failed check, never the token.
        raise _unauthorized(f"invalid token: {exc}", invalid=True) from None
    _check_times(config, claims, time.time())
    workspace = claims.get("workspace_id")
    user = claims.get("user_id")
    if not isinstance(workspace, str) or not WORKSPACE_PATTERN.fullmatch(workspace):
        raise _unauthorized("the token has no usable workspace_id claim", invalid=True)
    if workspace == DEFAULT_WORKSPACE and not config.allow_default_workspace:
        raise _unauthorized(
            f"the token names the workspace {DEFAULT_WORKSPACE!r}, which holds what this server "
            "stored while it ran without authentication; JWTs may not name it here",
            invalid=True,
        )
    if isinstance(user, bool) or not isinstance(user, str | int) or str(user) == "":
        raise _unauthorized("the token has no user_id claim", invalid=True)
    return Principal(workspace, str(user), "jwt", Secret(token))


def _check_times(config: AuthConfig, claims: Mapping[str, Any], now: float) -> None:
    """``exp`` (and ``nbf``, ``iat`` when given) as numbers of seconds since 1970; not expired,
    not expiring further ahead than ``max_lifetime``, not valid only later, not issued later."""
    for name in ("exp", "nbf", "iat"):
        if name in claims and not _is_time(claims[name]):
            raise _unauthorized(
                f"invalid token: the {name} claim must be a number of seconds since 1970",
                invalid=True,
            )
    # Compared, never subtracted: a huge int against a float compares exactly, and never
    # overflows.
    exp, leeway = claims["exp"], config.leeway
    if exp <= now - leeway:
        raise _unauthorized("the token has expired", invalid=True)
    if exp > now + config.max_lifetime + leeway:
        raise _unauthorized(
            f"the token expires too far ahead: at most {config.max_lifetime:.0f} seconds from now",
            invalid=True,
        )
    if "nbf" in claims and claims["nbf"] > now + leeway:
        raise _unauthorized("the token is not valid yet (nbf)", invalid=True)
    if "iat" in claims and claims["iat"] > now + leeway:
        raise _unauthorized("the token was issued in the future (iat)", invalid=True)


def _is_time(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _check_workspace(workspace: str, what: str) -> None:
    if not WORKSPACE_PATTERN.fullmatch(workspace):
        raise ValueError(f"{what}: workspace_id {workspace!r} is not a plain identifier")


def _unauthorized(message: str, *, invalid: bool = False) -> ApiError:
    challenge = dict(_CHALLENGE)
    if invalid:
        challenge["WWW-Authenticate"] += ', error="invalid_token"'
    return ApiError(401, "UNAUTHORIZED", message, headers=challenge)
