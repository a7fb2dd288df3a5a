"""A profile of the shared files, read by botocore's own credential providers.

:func:`load_profile` builds what botocore's default chain builds for a profile (its
assume-role provider, then the profile providers: web identity, SSO, the shared credentials
file, ``aws login``, ``credential_process``, the config file), from the files and the
environment atlas was given rather than the process's, and without the providers that ask
the instance metadata service or a container endpoint. ``credential_source`` may only be
``Environment`` for the same reason. STS and the SSO portal are reached at
``AWS_ENDPOINT_URL_STS`` / ``AWS_ENDPOINT_URL_SSO`` (else ``AWS_ENDPOINT_URL``) when set.

The credential is fetched once here, so a profile that cannot give one fails now, with a
:class:`CredentialsError` naming the profile and the setting at fault; refreshable
credentials (a role's, SSO's, a process's with an ``Expiration``) are kept as botocore's
object, which renews them before they expire. botocore and asyncio load with this module,
which :mod:`atlas_aws.credentials` imports only when a profile is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiobotocore.credentials import (
    AioAssumeRoleProvider,
    AioCanonicalNameCredentialSourcer,
    AioCredentialResolver,
    AioEnvProvider,
    AioProfileProviderBuilder,
)
from aiobotocore.session import AioSession
from aiobotocore.utils import create_nested_client
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    EndpointConnectionError,
    InvalidConfigError,
    PartialCredentialsError,
    SSOError,
    TokenRetrievalError,
)
from botocore.utils import JSONFileCache

from atlas.credentials import Secret
from atlas.exceptions import CredentialsError
from atlas_aws.client import first_fetch, guard_loggers
from atlas_aws.credentials import (
    CONFIG_FILE_ENV,
    CREDENTIALS_FILE_ENV,
    ENDPOINT_ENV,
    AwsKeys,
)

__all__ = ["load_profile"]

#: The only ``credential_source`` atlas takes: the others are the instance metadata
#: service and container endpoints.
SUPPORTED_SOURCES = ("Environment",)


class _MfaRequired(Exception):
    """botocore asked for an MFA code: nobody is there to type one."""


def _no_prompt(prompt: str) -> str:
    del prompt
    raise _MfaRequired


class _Session(AioSession):  # type: ignore[misc]  # aiobotocore has no types
    """botocore's session whose nested clients (STS, the SSO portal) go to atlas's
    endpoints when the environment atlas was given names them."""

    def __init__(self, endpoints: Mapping[str, str]) -> None:
        super().__init__()
        self._endpoints = dict(endpoints)

    def create_client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("endpoint_url") and service_name in self._endpoints:
            kwargs["endpoint_url"] = self._endpoints[service_name]
        return super().create_client(service_name, *args, **kwargs)


def _endpoints(env: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for service, names in ENDPOINT_ENV.items():
        url = next((env[n] for n in names if env.get(n)), None)
        if url:
            found[service] = url
    return found


def _session(profile: str, env: Mapping[str, str]) -> _Session:
    session = _Session(_endpoints(env))
    home = env.get("HOME")
    for variable, env_name, default in (
        ("credentials_file", CREDENTIALS_FILE_ENV, "credentials"),
        ("config_file", CONFIG_FILE_ENV, "config"),
    ):
        path = env.get(env_name) or (str(Path(home) / ".aws" / default) if home else os.devnull)
        session.set_config_variable(variable, path)
    session.set_config_variable("profile", profile)
    return session


async def load_profile(profile: str, env: Mapping[str, str]) -> AwsKeys:
    """The credential of ``profile`` (which exists and holds a credential setting), from the
    shared files ``env`` names (as :class:`~atlas_aws.credentials.AwsCredentialChain` finds
    them)."""
    session = _session(profile, env)
    guard_loggers()  # STS's and SSO's answers are logged at DEBUG, credentials and all
    where = f"profile {profile!r} of the shared files"
    try:
        profiles: Mapping[str, Mapping[str, Any]] = session.full_config.get("profiles", {})
    except BotoCoreError:
        raise CredentialsError(f"{where}: the shared files are not valid INI files") from None
    config = profiles.get(profile, {})
    _refuse_unsupported(profile, profiles)
    home = env.get("HOME")
    token_cache = JSONFileCache(str(Path(home) / ".aws" / "sso" / "cache")) if home else None
    cache: dict[str, Any] = {}
    builder = AioProfileProviderBuilder(session, cache=cache, sso_token_cache=token_cache)

    # STS is global: with no region in the profile or the environment, botocore's clients
    # would refuse to sign ("You must specify a region"); us-east-1 is where its global
    # endpoint is.
    region = (
        session.get_config_variable("region")
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )

    def client_creator(service_name: str, **kwargs: Any) -> Any:
        kwargs["region_name"] = kwargs.get("region_name") or region
        return create_nested_client(session, service_name, **kwargs)

    assume_role = AioAssumeRoleProvider(
        load_config=lambda: session.full_config,
        client_creator=client_creator,
        cache=cache,
        profile_name=profile,
        prompter=_no_prompt,
        credential_sourcer=AioCanonicalNameCredentialSourcer([AioEnvProvider(environ=env)]),
        profile_provider_builder=builder,
    )
    providers = [assume_role, *builder.providers(profile_name=profile, disable_env_vars=True)]
    try:
        credentials = await AioCredentialResolver(providers).load_credentials()
        if credentials is None:
            raise CredentialsError(f"{where}: botocore found no credential in it")
        with first_fetch():
            frozen = await credentials.get_frozen_credentials()
    except CredentialsError:
        raise
    except Exception as exc:  # every failure becomes one that names the profile and setting
        raise _explain(profile, config, exc) from None
    live = credentials if isinstance(credentials, RefreshableCredentials) else None
    return AwsKeys(
        Secret(frozen.access_key),
        Secret(frozen.secret_key),
        Secret(frozen.token) if frozen.token else None,
        f"profile {profile}",
        live,
    )


def _refuse_unsupported(profile: str, profiles: Mapping[str, Mapping[str, Any]]) -> None:
    """Walk the role chain from ``profile``: an ``mfa_serial`` or a ``credential_source``
    atlas does not take is refused before anything is asked of AWS."""
    seen: list[str] = []
    name: str | None = profile
    while name is not None and name not in seen and name in profiles:
        seen.append(name)
        config = profiles[name]
        if not config.get("role_arn"):
            return
        via = "" if name == profile else f" (reached from profile {profile!r})"
        if config.get("mfa_serial"):
            raise CredentialsError(
                f"profile {name!r}{via}: mfa_serial is set, and atlas runs without anyone to "
                "type an MFA code; use a profile without mfa_serial, or get temporary "
                "credentials first (aws sts get-session-token) and put them in the environment"
            )
        source = config.get("credential_source")
        if source is not None and source not in SUPPORTED_SOURCES:
            raise CredentialsError(
                f"profile {name!r}{via}: credential_source = {source} is not supported (only "
                "Environment): atlas never asks the instance metadata service or a container "
                "endpoint"
            )
        name = config.get("source_profile")


def _explain(profile: str, config: Mapping[str, Any], exc: BaseException) -> CredentialsError:
    """``exc`` as a :class:`CredentialsError` naming the profile and the setting; botocore's
    own words only where they hold nothing but setting names (a process's stderr, or a
    message quoting a parsed answer, may hold a secret)."""
    return CredentialsError(
        f"profile {profile!r} of the shared files: {_reason(profile, config, exc)}"
    )


def _reason(profile: str, config: Mapping[str, Any], exc: BaseException) -> str:
    process = bool(config.get("credential_process"))
    if isinstance(exc, _MfaRequired):
        reason = "a profile of its role chain sets mfa_serial"
    elif isinstance(exc, SSOError | TokenRetrievalError):
        setting = (
            f"sso_session {config['sso_session']!r}"
            if config.get("sso_session")
            else "sso_start_url"
        )
        reason = (
            f"the SSO token for its {setting} is missing or has expired; "
            f"run `aws sso login --profile {profile}`"
        )
    elif isinstance(exc, CredentialRetrievalError) and process:
        reason = (
            "its credential_process failed or printed no credential (its output is not "
            "shown, it may hold a secret: run the command to see it)"
        )
    elif isinstance(exc, InvalidConfigError | PartialCredentialsError | CredentialRetrievalError):
        reason = str(exc)
    elif isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        operation = getattr(exc, "operation_name", "") or "the call"
        setting = f"role_arn {config['role_arn']!r}" if config.get("role_arn") else "sso_role_name"
        detail = ": ".join(str(p) for p in (error.get("Code"), error.get("Message")) if p)
        reason = f"{operation} for its {setting} was refused ({detail or 'no detail'})"
    elif isinstance(exc, EndpointConnectionError):
        reason = f"could not connect to {exc.kwargs.get('endpoint_url')}"
    elif isinstance(exc, ValueError) and process:
        reason = "its credential_process printed no valid JSON"
    else:
        reason = f"the credential could not be loaded ({type(exc).__name__})"
    return reason
