"""Where the AWS credential comes from: a key pair (and a session token), never half of one.

The core builds a chain for the secret access key from :data:`SECRET_KEY` (the environment,
then the Context Manager with the caller's JWT). An AWS credential is a pair, so each place
in that chain is asked for both halves and the first place that holds both wins: the
environment (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``), then
the profile ``AWS_PROFILE`` (default ``default``) of the shared files
(``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_CONFIG_FILE``, else ``~/.aws/credentials`` and
``~/.aws/config``), then the Context Manager (``aws_access_key_id``,
``aws_secret_access_key``). A key id from one place is never paired with a secret from
another. botocore's own chain is not used: it would also try the instance metadata service,
which on a laptop costs seconds of timeouts before the error.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from atlas.credentials import (
    ContextManagerSource,
    CredentialChain,
    CredentialSource,
    CredentialSpec,
    EnvironmentSource,
    Secret,
)
from atlas.exceptions import CredentialsError

__all__ = [
    "KEY_ID_CONTEXT_KEY",
    "KEY_ID_ENV",
    "PROFILE_ENV",
    "SECRET_ENV",
    "SECRET_KEY",
    "TOKEN_ENV",
    "AwsCredentialChain",
    "AwsKeys",
]

KEY_ID_ENV = "AWS_ACCESS_KEY_ID"
SECRET_ENV = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name, not a secret
TOKEN_ENV = "AWS_SESSION_TOKEN"  # noqa: S105 - a variable name, not a secret
PROFILE_ENV = "AWS_PROFILE"
CREDENTIALS_FILE_ENV = "AWS_SHARED_CREDENTIALS_FILE"
CONFIG_FILE_ENV = "AWS_CONFIG_FILE"
KEY_ID_CONTEXT_KEY = "aws_access_key_id"

#: The secret half, as the core builds its chain; the key id is looked up beside it.
SECRET_KEY = CredentialSpec("AWS secret access key", (SECRET_ENV,), "aws_secret_access_key")


@attrs.frozen(repr=False)
class AwsKeys:
    """An AWS credential: every part is a :class:`~atlas.credentials.Secret`."""

    access_key_id: Secret
    secret_access_key: Secret
    session_token: Secret | None = None
    #: Where it was found (``env``, ``profile default``, ``context manager``): no secret.
    source: str = ""

    def __repr__(self) -> str:
        return f"AwsKeys(source={self.source!r})"

    def secrets(self) -> list[str]:
        """The values that must never show (for log redaction)."""
        parts = [self.access_key_id, self.secret_access_key, self.session_token]
        return [p.reveal() for p in parts if p is not None]


class AwsCredentialChain:
    """The places an AWS key pair may come from, tried in order (see the module docstring).

    :param chain: the core's chain for the secret access key (from :data:`SECRET_KEY`).
    :param env: the environment to read (``AWS_PROFILE``, the shared files, ``HOME``).
    :param explicit: a pair given by the caller, used before anything else.
    """

    def __init__(
        self,
        chain: CredentialChain,
        env: Mapping[str, str],
        explicit: AwsKeys | None = None,
    ) -> None:
        self._chain = chain
        self._env = env
        self._explicit = explicit

    def __repr__(self) -> str:
        return f"AwsCredentialChain({len(self._chain.sources)} sources)"

    async def resolve(self) -> AwsKeys:
        """The first complete pair, or :class:`CredentialsError` naming every place tried."""
        if self._explicit is not None:
            return self._explicit
        tried: list[str] = []
        for secret_source in self._chain.sources:
            if isinstance(secret_source, EnvironmentSource):
                found = await self._environment(secret_source, tried)
                found = found or self._profile(tried)
            elif isinstance(secret_source, ContextManagerSource):
                partner = attrs.evolve(secret_source, key=KEY_ID_CONTEXT_KEY)
                found = await _pair(partner, secret_source, "context manager", tried)
            else:  # an explicit secret alone is half a pair: the caller passes AwsKeys
                continue
            if found is not None:
                return found
        raise CredentialsError("no AWS access key pair found", sources_tried=tried)

    async def _environment(self, secret: EnvironmentSource, tried: list[str]) -> AwsKeys | None:
        key_id = EnvironmentSource(KEY_ID_ENV, secret.env)
        pair = await _pair(key_id, secret, "env", tried)
        if pair is None:
            return None
        token = (self._env.get(TOKEN_ENV) or "").strip()
        return attrs.evolve(pair, session_token=Secret(token) if token else None)

    def _profile(self, tried: list[str]) -> AwsKeys | None:
        profile = self._env.get(PROFILE_ENV) or "default"
        where = f"profile {profile!r} of the shared files"
        try:
            values = _profile_values(profile, self._files())
        except CredentialsError as exc:
            tried.append(f"{where}: {exc}")
            return None
        key_id, secret = values.get("aws_access_key_id"), values.get("aws_secret_access_key")
        if not key_id or not secret:
            tried.append(
                f"{where}: has no aws_access_key_id and aws_secret_access_key "
                "(SSO and role profiles are not supported yet)"
            )
            return None
        token = values.get("aws_session_token")
        return AwsKeys(
            Secret(key_id), Secret(secret), Secret(token) if token else None, f"profile {profile}"
        )

    def _files(self) -> list[Path]:
        home = self._env.get("HOME")
        files = []
        for env_name, default in (
            (CREDENTIALS_FILE_ENV, "credentials"),
            (CONFIG_FILE_ENV, "config"),
        ):
            explicit = self._env.get(env_name)
            if explicit:
                files.append(Path(explicit).expanduser())
            elif home:
                files.append(Path(home) / ".aws" / default)
        return files


async def _pair(
    key_id: CredentialSource, secret: CredentialSource, where: str, tried: list[str]
) -> AwsKeys | None:
    halves: list[Secret] = []
    for source in (key_id, secret):
        try:
            halves.append(await source.lookup())
        except CredentialsError as exc:
            tried.append(f"{source.describe()}: {exc}")
            return None
    return AwsKeys(halves[0], halves[1], None, where)


def _profile_values(profile: str, files: Sequence[Path]) -> dict[str, str]:
    """The keys of ``profile`` in the credentials file (section ``[name]``) and the config
    file (``[profile name]``, or ``[default]``), the credentials file first."""
    if not files:
        raise CredentialsError("no HOME and no AWS_SHARED_CREDENTIALS_FILE to find them in")
    values: dict[str, str] = {}
    read_any = False
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            read_any = bool(parser.read(path, encoding="utf-8")) or read_any
        except (configparser.Error, UnicodeDecodeError):
            # The parser's message quotes the line, which may hold a key.
            raise CredentialsError(f"{path.name} is not a valid INI file") from None
        section = profile if path.name != "config" or profile == "default" else f"profile {profile}"
        if parser.has_section(section):
            for key, value in parser.items(section):
                values.setdefault(key, value.strip())
    if not read_any:
        raise CredentialsError("no shared credentials or config file")
    return values
