"""Who is asking, and for which workspace.

Two ways in, both mapping a request to exactly one workspace:

- a bearer JWT signed with the platform's shared secret (``ATLAS_JWT_SECRET``, HS256), carrying
  ``workspace_id``, ``user_id`` and an expiry (``exp``). The token is kept (as a
  :class:`~atlas.credentials.Secret`) so cloud credentials can be read from the Context Manager
  on the caller's behalf;
- an API key (``Authorization: Bearer atlas_...`` or ``X-API-Key``), kept only as its SHA-256
  digest in a key file that maps it to a workspace. Keys are 256 random bits, so a fast hash is
  enough: nobody can guess one from its digest.

With neither configured, every request runs in the ``default`` workspace, and the server only
listens on loopback (see :mod:`atlas.server.settings`). A request that presents nothing, or
something invalid, when authentication is configured is refused: it never runs as a shared
workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import jwt

from atlas.credentials import Secret
from atlas.server.errors import ApiError

__all__ = [
    "API_KEY_PREFIX",
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
    """How callers authenticate; neither a secret nor keys means no authentication."""

    jwt_secret: Secret | None = attrs.field(default=None, repr=False)
    api_keys: ApiKeyring = attrs.field(factory=ApiKeyring)
    audience: str | None = None
    leeway: float = 30.0

    def __attrs_post_init__(self) -> None:
        if self.jwt_secret is not None and len(self.jwt_secret.reveal()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes (HS256 needs 256 bits)"
            )

    @property
    def enabled(self) -> bool:
        return self.jwt_secret is not None or bool(self.api_keys.keys)

    def modes(self) -> list[str]:
        modes = ["jwt"] if self.jwt_secret is not None else []
        return modes + (["api_key"] if self.api_keys.keys else [])


def authenticate(config: AuthConfig, headers: Mapping[str, str]) -> Principal:
    """The caller of a request with these headers, or :class:`ApiError` 401."""
    if not config.enabled:
        return Principal(DEFAULT_WORKSPACE)
    token = _bearer(headers.get("authorization"))
    key = headers.get("x-api-key")
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
        claims = jwt.decode(
            token,
            config.jwt_secret.reveal(),
            algorithms=["HS256"],
            audience=config.audience,
            leeway=config.leeway,
            options={"require": ["exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("the token has expired", invalid=True) from None
    except jwt.InvalidTokenError as exc:
        # pyjwt's messages name the failed check, never the token.
        raise _unauthorized(f"invalid token: {exc}", invalid=True) from None
    workspace = claims.get("workspace_id")
    user = claims.get("user_id")
    if not isinstance(workspace, str) or not WORKSPACE_PATTERN.fullmatch(workspace):
        raise _unauthorized("the token has no usable workspace_id claim", invalid=True)
    if isinstance(user, bool) or not isinstance(user, str | int) or str(user) == "":
        raise _unauthorized("the token has no user_id claim", invalid=True)
    return Principal(workspace, str(user), "jwt", Secret(token))


def _check_workspace(workspace: str, what: str) -> None:
    if not WORKSPACE_PATTERN.fullmatch(workspace):
        raise ValueError(f"{what}: workspace_id {workspace!r} is not a plain identifier")


def _unauthorized(message: str, *, invalid: bool = False) -> ApiError:
    challenge = dict(_CHALLENGE)
    if invalid:
        challenge["WWW-Authenticate"] += ', error="invalid_token"'
    return ApiError(401, "UNAUTHORIZED", message, headers=challenge)
