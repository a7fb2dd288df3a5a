"""Where the AWS credential comes from: a key pair (and a session token), never half of one.

The core builds a chain for the secret access key from :data:`SECRET_KEY` (the environment,
then the Context Manager with the caller's JWT). An AWS credential is a pair, so each place
in that chain is asked for both halves and the first place that holds both wins:

1. the environment (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``);
2. the profile ``AWS_PROFILE`` (default ``default``) of the shared files
   (``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_CONFIG_FILE``, else ``~/.aws/credentials`` and
   ``~/.aws/config``): static keys, an assume-role profile (``role_arn`` with
   ``source_profile`` or ``credential_source = Environment``), an SSO profile (the token
   ``aws sso login`` cached) or a ``credential_process``;
3. the Context Manager (``aws_access_key_id``, ``aws_secret_access_key``).

A key id from one place is never paired with a secret from another. A profile is read by
botocore's own providers (:mod:`aiobotocore.credentials`), in botocore's order, minus the ones
that ask the instance metadata service or a container endpoint: on a laptop those cost seconds
of timeouts before the error. Temporary credentials (a role's, SSO's, a process's that says
when they expire) stay botocore's refreshable credentials (:attr:`AwsKeys.live`): the clients
ask them before every request and they fetch new ones before they expire.

A profile that exists and is set up for credentials but cannot give them (a missing
``source_profile``, an expired SSO token, ``mfa_serial``, a process that fails, STS refusing)
is an error at once, as it is for botocore: atlas does not go on to act as someone else. A
profile that does not exist, or holds no credential setting, is a place with nothing, and the
Context Manager is asked next. A caller that names the profile itself (``profile=``, as the
AWS CLI's ``--profile`` does) skips the environment's pair, as botocore does.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
#: Where the clients a profile needs (STS for a role, the SSO portal) are, before
#: ``AWS_ENDPOINT_URL``: an emulator's address in tests, AWS itself otherwise.
ENDPOINT_ENV = {
    "sts": ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"),
    "sso": ("AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL"),
    "sso-oidc": ("AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL"),
}

#: The secret half, as the core builds its chain; the key id is looked up beside it.
SECRET_KEY = CredentialSpec("AWS secret access key", (SECRET_ENV,), "aws_secret_access_key")


@attrs.frozen(repr=False)
class AwsKeys:
    """An AWS credential: every part is a :class:`~atlas.credentials.Secret`.

    For temporary credentials botocore can renew (a role's, SSO's, a process's with an
    ``Expiration``), :attr:`live` is botocore's refreshable credential and the three parts
    are the first values it gave; the clients sign with :attr:`live`.
    """

    access_key_id: Secret
    secret_access_key: Secret
    session_token: Secret | None = None
    #: Where it was found (``env``, ``profile default``, ``context manager``): no secret.
    source: str = ""
    #: botocore's :class:`~aiobotocore.credentials.AioRefreshableCredentials`, or ``None``.
    live: Any = None

    def __repr__(self) -> str:
        return f"AwsKeys(source={self.source!r})"

    def secrets(self) -> list[str]:
        """The values that must never show (for log redaction): the first ones and, for
        refreshable credentials, the ones in use now."""
        parts = [self.access_key_id, self.secret_access_key, self.session_token]
        values = [p.reveal() for p in parts if p is not None]
        # botocore keeps the current values here and has no public way to read them without
        # a refresh (an await); a log filter cannot await.
        frozen = getattr(self.live, "_frozen_credentials", None)
        if frozen is not None:
            values.extend(v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)
        return values


class AwsCredentialChain:
    """The places an AWS key pair may come from, tried in order (see the module docstring).

    :param chain: the core's chain for the secret access key (from :data:`SECRET_KEY`).
    :param env: the environment to read (``AWS_PROFILE``, the shared files, ``HOME``).
    :param explicit: a pair given by the caller, used before anything else.
    :param profile: a profile named by the caller: used instead of ``AWS_PROFILE`` and before
        the environment's pair (botocore's rule for an explicit profile).
    """

    def __init__(
        self,
        chain: CredentialChain,
        env: Mapping[str, str],
        explicit: AwsKeys | None = None,
        *,
        profile: str | None = None,
    ) -> None:
        self._chain = chain
        self._env = env
        self._explicit = explicit
        self._named = profile

    def __repr__(self) -> str:
        return f"AwsCredentialChain({len(self._chain.sources)} sources)"

    async def resolve(self) -> AwsKeys:
        """The first complete pair, or :class:`CredentialsError` naming every place tried
        (or the profile that is set up for credentials and cannot give them)."""
        if self._explicit is not None:
            return self._explicit
        tried: list[str] = []
        if self._named is not None:
            found = await self._profile(tried)
            if found is not None:
                return found
        for secret_source in self._chain.sources:
            if isinstance(secret_source, EnvironmentSource):
                found = await self._environment(secret_source, tried)
                if found is None and self._named is None:
                    found = await self._profile(tried)
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

    async def _profile(self, tried: list[str]) -> AwsKeys | None:
        named = self._named is not None
        profile = self._named or self._env.get(PROFILE_ENV) or "default"
        setting = "the profile given" if named else PROFILE_ENV
        where = f"profile {profile!r} of the shared files"
        try:
            values = _profile_values(profile, self._files())
        except CredentialsError as exc:
            tried.append(f"{where}: {exc}")
            return None
        if not values:
            if named:  # botocore's rule too: a profile asked for by name must exist
                raise CredentialsError(f"{where}: no such profile ({setting})")
            tried.append(f"{where}: no such profile ({setting})")
            return None
        if not _has_credential_settings(values):
            tried.append(
                f"{where}: holds no credential setting (aws_access_key_id and "
                "aws_secret_access_key, role_arn, sso_account_id and sso_role_name, "
                "credential_process)"
            )
            return None
        from atlas_aws.profiles import load_profile  # noqa: PLC0415 - botocore, when needed

        return await load_profile(profile, self._env)

    def _files(self) -> list[tuple[Path, bool]]:
        """The shared files, each with whether it is the config file (whatever its name)."""
        home = self._env.get("HOME")
        files = []
        for env_name, default in (
            (CREDENTIALS_FILE_ENV, "credentials"),
            (CONFIG_FILE_ENV, "config"),
        ):
            explicit = self._env.get(env_name)
            if explicit:
                files.append((Path(explicit).expanduser(), default == "config"))
            elif home:
                files.append((Path(home) / ".aws" / default, default == "config"))
        return files


def _has_credential_settings(values: Mapping[str, str]) -> bool:
    static = bool(values.get("aws_access_key_id") and values.get("aws_secret_access_key"))
    sso = "sso_account_id" in values or "sso_role_name" in values
    others = ("role_arn", "credential_process", "login_session")
    return static or sso or any(values.get(k) for k in others)


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


def _profile_values(profile: str, files: Sequence[tuple[Path, bool]]) -> dict[str, str]:
    """The keys of ``profile`` in the credentials file (section ``[name]``) and the config
    file (``[profile name]``; ``[default]`` or ``[profile default]``), the credentials file
    first; empty when neither file has the profile."""
    if not files:
        raise CredentialsError("no HOME and no AWS_SHARED_CREDENTIALS_FILE to find them in")
    values: dict[str, str] = {}
    read_any = False
    for path, is_config in files:
        parser = configparser.RawConfigParser()
        try:
            read_any = bool(parser.read(path, encoding="utf-8")) or read_any
        except (configparser.Error, UnicodeDecodeError):
            # The parser's message quotes the line, which may hold a key.
            raise CredentialsError(f"{path.name} is not a valid INI file") from None
        sections = [profile]
        if is_config:
            sections = [f"profile {profile}", *(["default"] if profile == "default" else [])]
        for section in sections:
            if parser.has_section(section):
                for key, value in parser.items(section):
                    values.setdefault(key, value.strip())
    if not read_any:
        raise CredentialsError("no shared credentials or config file")
    return values
