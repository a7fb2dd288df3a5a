"""The EC2 client: aiobotocore (botocore's models, signing and paginators on asyncio), AWS's
``standard`` retry mode, and errors mapped to atlas's at this one boundary.

Retries are botocore's standard mode (throttling, transient errors, exponential backoff with
jitter), with one exception that keeps creates safe: a create EC2 cannot make idempotent
(``CreateVpc``, ``CreateSubnet``, ``CreateSecurityGroup``, ``AttachVolume``) is never sent
again after an answer that leaves its outcome unknown (a 5xx, a dropped connection, a read
timeout); the core's ambiguous-create rule looks for what it made instead. Throttling answers
(``RequestLimitExceeded``, ``Throttling``) are retried for every call: the request was refused,
not applied. ``RunInstances`` carries a ``ClientToken``, so botocore may resend it freely.

botocore logs request headers at DEBUG, session token and key id included, and the answers of
STS and the SSO portal, which carry new credentials; every record of its loggers passes
through a filter that blanks the credentials in use (refreshed ones included) and any value
of a credential field (``SecretAccessKey``, ``sessionToken``, ``X-Amz-Security-Token``, ...).

Temporary credentials botocore can renew (:attr:`AwsKeys.live`) are given to the client as
they are, so it renews them before they expire instead of signing with the first ones.

Every attempt (botocore's retries included) is reported to the core
(:func:`atlas.http.report_call`) as provider ``aws``, its route the EC2 action's name
(``DescribeVpcs``: a bounded set, and never an id), with its status and the class of the atlas
error it maps to.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import re
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from atlas.exceptions import (
    AtlasError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ConnectError,
    CredentialsError,
    NotFoundError,
    PermissionDeniedError,
    ProviderAPIError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from atlas.http import ApiCall, report_call
from atlas_aws.credentials import AwsKeys

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "JSON",
    "NOT_REPEATABLE",
    "THROTTLING_CODES",
    "Ec2",
    "map_error",
]

JSON = dict[str, Any]

#: Attempts per call in botocore's standard mode, the first one counted (botocore's
#: ``total_max_attempts``; its ``max_attempts`` would count the retries only).
DEFAULT_MAX_ATTEMPTS = 5
#: Creates EC2 offers no idempotency token for: never resent after an unknown outcome.
NOT_REPEATABLE = frozenset({"CreateVpc", "CreateSubnet", "CreateSecurityGroup", "AttachVolume"})
THROTTLING_CODES = frozenset(
    {"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException"}
)
_AUTH_CODES = frozenset({"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch"})
_DENIED_CODES = frozenset({"UnauthorizedOperation", "OptInRequired", "Blocked"})
_CONFLICT_CODES = frozenset(
    {
        "DependencyViolation",
        "IdempotentParameterMismatch",
        "IdempotentInstanceTerminated",
        "InvalidGroup.Duplicate",
        "InvalidPermission.Duplicate",
        "IncorrectState",
        "IncorrectInstanceState",
        "VolumeInUse",
        # RDS
        "DBInstanceAlreadyExists",
        "DBSubnetGroupAlreadyExists",
        "InvalidDBInstanceState",
        "InvalidDBSubnetGroupStateFault",
    }
)

# -- keeping credentials out of botocore's DEBUG records ------------------------------------

_SECRETS: weakref.WeakValueDictionary[int, _Redacted] = weakref.WeakValueDictionary()


class _Redacted:
    """The credential of one client, for as long as the client lives: its values are read
    at each record, so refreshed ones are blanked too."""

    def __init__(self, keys: AwsKeys) -> None:
        self.keys = keys

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v for v in self.keys.secrets() if v)


#: A credential field and its value, as botocore logs them: XML answers (STS), JSON answers
#: (the SSO portal, SSO OIDC), and header or parameter dicts (the session token, the SSO
#: bearer token, the key id in a signature's scope).
_FIELDS = "AccessKeyId|SecretAccessKey|SessionToken|Token"
_JSON_FIELDS = "accessKeyId|secretAccessKey|sessionToken|accessToken|refreshToken|clientSecret"
_HEADERS = "X-Amz-Security-Token|x-amz-security-token|x-amz-sso_bearer_token|Authorization"
_PATTERNS = (
    (re.compile(rf"<({_FIELDS})>[^<]*</"), r"<\1>***</"),
    (re.compile(rf'("(?:{_FIELDS}|{_JSON_FIELDS})"\s*:\s*)"[^"]*"'), r'\1"***"'),
    (re.compile(rf"""((['"])(?:{_HEADERS}|{_JSON_FIELDS})\2\s*:\s*b?)(['"]).*?\3"""), r"\1\3***\3"),
    (re.compile(r"Credential=[^/,\s]+/"), "Credential=***/"),
)


def redact(text: str, values: Sequence[str] = ()) -> str:
    """``text`` with ``values`` and every credential field's value blanked."""
    for value in values:
        if value:
            text = text.replace(value, "***")
    for pattern, blank in _PATTERNS:
        text = pattern.sub(blank, text)
    return text


#: Set while a profile's credential is fetched the first time: a failure then is raised to
#: the caller as a CredentialsError, so botocore's warning and traceback about it go unsaid.
_FIRST_FETCH: contextvars.ContextVar[bool] = contextvars.ContextVar("first_fetch", default=False)
_REFRESH_FAILED = "Refreshing temporary credentials failed"


@contextlib.contextmanager
def first_fetch() -> Iterator[None]:
    """The block fetches a credential whose failure the caller reports."""
    token = _FIRST_FETCH.set(True)
    try:
        yield
    finally:
        _FIRST_FETCH.reset(token)


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _FIRST_FETCH.get() and str(record.msg).startswith(_REFRESH_FAILED):
            return False
        values = [v for holder in list(_SECRETS.values()) for v in holder.values]
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format itself is dropped, secrets and all
            return False
        cleaned = redact(text, values)
        if cleaned != text:
            record.msg, record.args = cleaned, ()
        return True


_FILTER = _RedactFilter()


def guard_loggers() -> None:
    """Put the filter on every botocore and aiobotocore logger that exists by now (filters
    apply to the logger a record is made on, not to its parents)."""
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _BOTO_ROOTS]
    for name in {*names, *_BOTO_ROOTS}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


_BOTO_ROOTS = ("botocore", "aiobotocore", "urllib3", "aiohttp")

# -- errors ---------------------------------------------------------------------------------


def map_error(exc: BaseException, operation: str, service: str = "ec2") -> AtlasError:
    """botocore's exception as atlas's (raise it ``from exc``)."""
    from botocore.exceptions import (  # noqa: PLC0415 - botocore loads with the client
        ClientError,
        ConnectTimeoutError,
        CredentialRetrievalError,
        EndpointConnectionError,
        ReadTimeoutError,
        RefreshWithMFAUnsupportedError,
        SSOError,
        TokenRetrievalError,
    )

    if isinstance(exc, ClientError):
        return _api_error(exc.response, operation, service)
    if isinstance(exc, SSOError | TokenRetrievalError | CredentialRetrievalError):
        return CredentialsError(
            f"{operation}: the temporary credentials could not be renewed "
            f"({type(exc).__name__}); for an SSO profile run `aws sso login`"
        )
    if isinstance(exc, RefreshWithMFAUnsupportedError):
        return CredentialsError(f"{operation}: the temporary credentials need an MFA code")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        where = service.upper()
        return ConnectError(f"{operation}: could not connect to {where} ({type(exc).__name__})")
    if isinstance(exc, ReadTimeoutError):
        return RequestTimeoutError(f"{operation}: no answer in time; it may have been applied")
    return TransportError(f"{operation}: the request got no answer ({type(exc).__name__})")


def _api_error(
    response: Mapping[str, Any], operation: str, service: str = "ec2"
) -> ProviderAPIError:
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or code or "error")
    status = int(meta.get("HTTPStatusCode") or 400)
    request_id = meta.get("RequestId") or None
    retries = int(meta.get("RetryAttempts") or 0)
    details: dict[str, Any] = {
        "code": code,
        "request_id": request_id,
        "method": "POST",
        "url": f"{service} {operation}",
    }
    if code in THROTTLING_CODES or status == 429:
        return RateLimitError(f"{message} (after {retries} retries)", status=status, **details)
    if status >= 500:
        return ServerError(message, status=status, **details)
    cls = _client_error_class(code, status)
    return cls(message, status=status, **details)


def _client_error_class(code: str, status: int) -> type[ProviderAPIError]:
    if code in _AUTH_CODES or status == 401:
        return AuthenticationError
    if code in _DENIED_CODES or status == 403:
        return PermissionDeniedError
    if code.endswith(("NotFound", "NotFoundFault")) or status == 404:
        return NotFoundError
    if code in _CONFLICT_CODES or status == 409:
        return ConflictError
    return BadRequestError


# -- the client -----------------------------------------------------------------------------


def _no_resend_in_doubt(**kwargs: Any) -> bool | None:
    """A ``needs-retry`` handler for :data:`NOT_REPEATABLE` operations: ``False`` (do not
    retry) after an unknown outcome; ``None`` (let standard mode decide) otherwise."""
    from botocore.exceptions import (  # noqa: PLC0415
        ConnectTimeoutError,
        EndpointConnectionError,
    )

    caught = kwargs.get("caught_exception")
    if caught is not None:
        # Never connected: nothing was applied, a resend is safe.
        return None if isinstance(caught, EndpointConnectionError | ConnectTimeoutError) else False
    response = kwargs.get("response")
    if response is None:
        return None
    parsed = response[1]
    if str((parsed.get("Error") or {}).get("Code") or "") in THROTTLING_CODES:
        return None  # refused, not applied (EC2 answers RequestLimitExceeded with a 503)
    status = int(parsed.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return False if status >= 500 else None


def _report_attempt(**kwargs: Any) -> None:
    """A ``needs-retry`` handler for every action (EC2's, RDS's, ELBv2's) that decides
    nothing (``None``): it tells the core how the attempt just made ended."""
    operation = kwargs.get("operation")
    name = str(getattr(operation, "name", "") or "other")
    caught = kwargs.get("caught_exception")
    if caught is not None:
        report_call(ApiCall("aws", "POST", name, None, type(map_error(caught, name)).__name__))
        return
    response = kwargs.get("response")
    if response is None:
        return
    http_response, parsed = response
    meta = parsed.get("ResponseMetadata") or {}
    status = int(meta.get("HTTPStatusCode") or getattr(http_response, "status_code", 0) or 0)
    code = str((parsed.get("Error") or {}).get("Code") or "")
    if status < 400 and not code:
        report_call(ApiCall("aws", "POST", name, status))
        return
    error = _api_error(parsed, name)
    throttled = isinstance(error, RateLimitError)
    report_call(ApiCall("aws", "POST", name, status, type(error).__name__, throttled))


#: One botocore loader per data path, shared by every session atlas makes: it reads and
#: parses each service model (JSON of a few MB for EC2) once per process, not once per client.
#: A loader holds models only, never credentials.
_LOADERS: dict[str | None, Any] = {}
#: ``2026-12-06T22:31:36.000Z`` and ``...+01:00`` (what EC2's XML answers carry): whole seconds,
#: up to microseconds, ``Z`` or a ``±hh:mm`` offset.
_ISO_8601 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)")


def _share_models(session: Any) -> None:
    """Give ``session`` the process's loader for its data path and the fast timestamp parser.

    botocore's session makes a loader of its own on first use, so every new session (one per
    provider, per workspace's keys) would read the EC2 model from disk again: 0.12-0.36 s a
    client here, against 0.015-0.09 s with the shared loader. The session's credentials stay
    its own: each client is made with its keys given explicitly.
    """
    from botocore.loaders import create_loader  # noqa: PLC0415 - heavy, only for the cloud

    path = session.get_config_variable("data_path")
    if path not in _LOADERS:
        _LOADERS[path] = create_loader(path)
    session.register_component("data_loader", _LOADERS[path])
    # botocore's documented hook for parsers' defaults (ResponseParserFactory).
    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)


def parse_timestamp(value: Any) -> dt.datetime:
    """A timestamp of an answer as botocore's parser makes it, ISO 8601 the fast way.

    botocore hands every timestamp to dateutil's general parser, about 0.2 ms each: a page of
    1000 instances carries several thousand. The ISO 8601 form EC2 sends is read by
    :meth:`datetime.datetime.fromisoformat`, with dateutil's time zone objects (UTC as
    ``tzutc()``), so the value is the one botocore would give; any other form (RFC 822, epoch
    seconds, no time zone) goes to botocore's own parser.
    """
    if isinstance(value, str) and _ISO_8601.fullmatch(value):
        from dateutil.tz import tzoffset, tzutc  # noqa: PLC0415 - botocore's dependency

        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None  # the form, not a date (month 13): botocore's parser says so
        if parsed is not None:
            offset = parsed.utcoffset()
            assert offset is not None  # the pattern asks for a time zone
            seconds = int(offset.total_seconds())
            return parsed.replace(tzinfo=tzutc() if seconds == 0 else tzoffset(None, seconds))
    from botocore.utils import parse_timestamp as botocore_parse  # noqa: PLC0415

    result: dt.datetime = botocore_parse(value)
    return result


class Ec2:
    """One region's EC2 API for one credential: every call goes through :meth:`call`.

    Built with :meth:`open`; :meth:`aclose` releases the connection pool. A subclass for
    another Query API of AWS (RDS, ELBv2) sets :attr:`service` and :attr:`not_repeatable`.
    """

    #: botocore's name of the service.
    service = "ec2"
    #: Its creates never resent after an unknown outcome.
    not_repeatable: frozenset[str] = NOT_REPEATABLE

    def __init__(self, client: Any, exit_stack: Any, region: str, keys: AwsKeys) -> None:
        self._client = client
        self._stack = exit_stack
        self.region = region
        self._redacted = _Redacted(keys)
        _SECRETS[id(self._redacted)] = self._redacted
        self.calls = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(region={self.region!r})"

    @classmethod
    async def open(
        cls,
        keys: AwsKeys,
        region: str,
        *,
        endpoint_url: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> Ec2:
        """A client for ``region`` (at ``endpoint_url`` when given: an emulator)."""
        from aiobotocore.config import AioConfig  # noqa: PLC0415 - heavy, only for the cloud
        from aiobotocore.session import get_session  # noqa: PLC0415

        session = get_session()
        _share_models(session)
        if keys.live is not None:
            # botocore's refreshable credential, shared by every client of this chain: each
            # request asks it, and it renews itself before it expires.
            session.register_component("credential_provider", _Given(keys.live))
        config = AioConfig(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="atlas",
        )
        stack = contextlib.AsyncExitStack()
        client = await stack.enter_async_context(
            session.create_client(
                cls.service,
                region_name=region,
                endpoint_url=endpoint_url,
                **_static(keys),
                config=config,
            )
        )
        for operation in cls.not_repeatable:
            client.meta.events.register_first(
                f"needs-retry.{cls.service}.{operation}", _no_resend_in_doubt
            )
        # Every attempt of this client's calls, whatever the service (the emitter is the
        # client's own), is told to the core's observers.
        client.meta.events.register("needs-retry", _report_attempt)
        ec2 = cls(client, stack, region, keys)
        guard_loggers()
        return ec2

    async def call(self, operation: str, **params: Any) -> JSON:
        """One EC2 call by its API name (``"DescribeVpcs"``); errors as atlas's."""
        method = getattr(self._client, _snake(operation))
        self.calls += 1
        try:
            result: JSON = await method(**params)
        except Exception as exc:
            if isinstance(exc, AtlasError):
                raise
            if not _is_botocore(exc):
                raise
            raise map_error(exc, operation, self.service) from exc
        return result

    async def pages(self, operation: str, key: str, **params: Any) -> list[JSON]:
        """Every item under ``key`` of every page of a paginated ``Describe*`` call."""
        paginator = self._client.get_paginator(_snake(operation))
        items: list[JSON] = []
        try:
            async for page in paginator.paginate(**params):
                self.calls += 1
                items.extend(page.get(key) or [])
        except Exception as exc:
            if not _is_botocore(exc):
                raise
            raise map_error(exc, operation, self.service) from exc
        return items

    async def aclose(self) -> None:
        await self._stack.aclose()
        _SECRETS.pop(id(self._redacted), None)


class _Given:
    """A credential resolver that resolves to the credential it was given."""

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    async def load_credentials(self) -> Any:
        return self._credentials


def _static(keys: AwsKeys) -> dict[str, str | None]:
    if keys.live is not None:
        return {}
    return {
        "aws_access_key_id": keys.access_key_id.reveal(),
        "aws_secret_access_key": keys.secret_access_key.reveal(),
        "aws_session_token": keys.session_token.reveal() if keys.session_token else None,
    }


def _is_botocore(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    return isinstance(exc, BotoCoreError | ClientError)


def _snake(operation: str) -> str:
    from botocore import xform_name  # noqa: PLC0415

    return str(xform_name(operation))
