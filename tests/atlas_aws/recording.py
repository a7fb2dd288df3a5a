"""Cassettes of the AWS provider's main flows: the vcr configuration, the scrubbers, replay, a
secret scanner, and the recorder.

Record (re-writes ``cassettes/<flow>.yaml``)::

    python -m tests.atlas_aws.recording                          # an emulator of our own
    python -m tests.atlas_aws.recording --endpoint http://127.0.0.1:5000   # one already running
    python -m tests.atlas_aws.recording --real                   # AWS itself (costs money)

aiobotocore sends through aiohttp (its default HTTP session, which :mod:`atlas_aws.client`
keeps), and vcr patches aiohttp's ``ClientSession._request``: every EC2, RDS and ELBv2 call
is recorded. Requests match on method, the service's AWS host (rewritten from the signature's
credential scope, so the emulator's address never matters), path, query and the Query-API
form body without the ``ClientToken`` value (see :func:`query_body`): never on headers, so
never on a signature or a date. Before anything is written, requests keep only their
``Content-Type``, responses only theirs, and every string is scrubbed of the credential used,
anything shaped like an AWS key, token or signature, and (for a recording against AWS) the
account id. A fresh cassette is scanned for secrets and replayed offline before it replaces
the old one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import vcr
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException
from vcr.request import Request
from vcr.serializers import yamlserializer

from atlas.credentials import Secret
from atlas.exceptions import CredentialsError
from atlas.providers import Timing
from atlas_aws.credentials import SECRET_KEY, AwsCredentialChain, AwsKeys
from atlas_aws.emulator import AwsEmulator, FidelityConfig
from atlas_aws.provider import AwsProvider
from atlas_aws.sandbox import _is_empty  # the sandbox's own check that nothing is left
from tests.atlas_aws.flows import FLOWS, KINDS, OPERATION, FlowResult

CASSETTES = Path(__file__).resolve().parent / "cassettes"
REGION = "eu-west-1"
REDACTED = "REDACTED"
#: A made-up key pair, in the shape of AWS's: recordings against an emulator sign with it,
#: replays too. It never reaches a cassette (the scanner looks for it).
CANARY_KEY_ID = "AKIA" + "C0FFEE15CA55E77E"
CANARY_SECRET = "cassette/" + "Wq3rT0yC4ss3tt3Xk9Lm2Np8Qr5St7V"
#: What a recording against AWS writes instead of the account id (AWS's documentation
#: account). An emulator's account is made up (derived from the canary key id) and kept.
ACCOUNT_PLACEHOLDER = "123456789012"
#: The emulator of a recording: AWS's pace compressed (launches pending, instances unlisted
#: right after their launch, DB instances creating, load balancers provisioning).
EMULATOR = FidelityConfig(
    pending_seconds=0.4,
    invisible_seconds=0.2,
    db_creating_seconds=0.6,
    db_deleting_seconds=0.4,
    provisioning_seconds=0.6,
    release_seconds=0.3,
)
EMULATOR_POLL, REAL_POLL = 0.3, 5.0
VISIBILITY_GRACE, ACTION_TIMEOUT = 30.0, 1800.0
#: The one request parameter whose value may change between a recording and its replay: a
#: launch token derived from the operation id, which is random for every apply.
VOLATILE_PARAMS = frozenset({"ClientToken"})

#: The signature's credential scope: key id, date, region, service.
_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")
#: AWS's own host of each signing name (what a recording against an emulator is written as).
_HOSTS = {
    "ec2": "ec2.{region}.amazonaws.com",
    "rds": "rds.{region}.amazonaws.com",
    "elasticloadbalancing": "elasticloadbalancing.{region}.amazonaws.com",
    "sts": "sts.{region}.amazonaws.com",
}
REQUEST_HEADERS = frozenset({"content-type"})
RESPONSE_HEADERS = frozenset({"content-type"})
#: Query parameters of presigned URLs: a signature, a credential scope, a date, a token.
_SIGNED_QUERY = frozenset(
    {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "x-amz-date", "signature"}
)

KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
#: 40 characters of base64 with upper and lower case letters and a digit or ``/``/``+``: the
#: shape of a secret access key (ids, hex digests and UUIDs do not have it).
SECRET_SHAPE = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])"
    r"(?=[A-Za-z0-9/+]*[0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)
#: A session token is hundreds of base64 characters.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9/+]{100,}={0,2}")
SIGNATURE = re.compile(r"(?i)\bsignature=[0-9a-f]{16,}|\bAWS4-HMAC-SHA256\b")
PASSWORD = re.compile(
    r"(?i)((?<![a-z])(?:masteruser)?password(?:=|>|[\"']?\s*:\s*[\"']))(?!REDACTED)[^&\s<\"']+"
)
PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S
)


# -- scrubbing ---------------------------------------------------------------------------------


def scrub_text(
    text: str, literals: Iterable[str] = (), account: tuple[str, str] | None = None
) -> str:
    """``text`` without the ``literals`` (the credential in use), key ids, secret-key- and
    token-shaped strings, signatures or private keys; ``account`` = (real, placeholder)."""
    for literal in sorted((s for s in literals if s), key=len, reverse=True):
        text = text.replace(literal, REDACTED)
    text = PRIVATE_KEY.sub(REDACTED, text)
    text = KEY_ID.sub(REDACTED, text)
    text = TOKEN_SHAPE.sub(REDACTED, text)
    text = SECRET_SHAPE.sub(REDACTED, text)
    text = PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)
    if account is not None and account[0]:
        text = text.replace(account[0], account[1])
    return text


def _text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else body


def _form(body: bytes | str | None) -> list[tuple[str, str]] | None:
    """A Query-API body's parameters, in order; ``None`` for a body that is not one."""
    text = _text(body)
    if not text:
        return []
    if "=" not in text or text.lstrip().startswith(("{", "<")):
        return None
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None


@attrs.define
class Scrubber:
    """vcr's ``before_record_request`` and ``before_record_response``. vcr calls the first on
    every request before matching too, so a replay's requests are compared scrubbed.

    :param keys: the credential the recording signs with: removed wherever it appears.
    :param account: the account id to write as :data:`ACCOUNT_PLACEHOLDER` (AWS only).
    """

    keys: AwsKeys | None = None
    account: str | None = None
    #: Bodies that could not be scrubbed parameter by parameter; a cassette with any is not kept.
    problems: list[str] = attrs.field(factory=list)

    def _literals(self) -> list[str]:
        return self.keys.secrets() if self.keys is not None else []

    def text(self, text: str) -> str:
        account = (self.account, ACCOUNT_PLACEHOLDER) if self.account else None
        return scrub_text(text, self._literals(), account)

    def _uri(self, uri: str, headers: dict[str, Any]) -> str:
        parts = urlsplit(uri)
        auth = " ".join(str(v) for k, v in headers.items() if k.lower() == "authorization")
        scope = _SCOPE.search(auth)
        netloc = parts.netloc
        if scope is not None and scope.group(4) in _HOSTS:
            netloc = _HOSTS[scope.group(4)].format(region=scope.group(3))
        query = [
            (k, REDACTED if k.lower() in _SIGNED_QUERY else self.text(v))
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit(("https", netloc, self.text(parts.path), urlencode(query), ""))

    def request(self, request: Request) -> Request:
        headers = dict(request.headers)
        clean = Request(
            request.method,
            self._uri(request.uri, headers),
            self._request_body(request.body, f"{request.method} {request.path}"),
            {k: v for k, v in headers.items() if k.lower() in REQUEST_HEADERS},
        )
        return clean

    def _request_body(self, body: bytes | str | None, where: str) -> bytes:
        params = _form(body)
        if params is None:
            self.problems.append(f"{where}: a body that is not a Query-API form")
            return REDACTED.encode()
        clean = [(k, self.text(v)) for k, v in params]
        return urlencode(clean).encode() if clean else b""

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        headers = {
            k: [self.text(str(v)) for v in values]
            for k, values in response["headers"].items()
            if k.lower() in RESPONSE_HEADERS
        }
        body = dict(response["body"])
        body["string"] = self.text(_text(body.get("string"))).encode()
        return {**response, "headers": headers, "body": body}


def query_body(r1: Request, r2: Request) -> None:
    """vcr matcher: the same Query-API parameters (in any order), the values of
    :data:`VOLATILE_PARAMS` aside (they must be there in both, or in neither)."""

    def key(r: Request) -> list[tuple[str, str]] | str:
        params = _form(r.body)
        if params is None:
            return _text(r.body)
        return sorted((k, "*" if k in VOLATILE_PARAMS else v) for k, v in params)

    a, b = key(r1), key(r2)
    if a != b:
        raise AssertionError(f"bodies differ: {a!r} != {b!r}")


class _WideYaml:
    """vcr's safe YAML, each string on one line, so a finding has an exact line number."""

    @staticmethod
    def serialize(data: Any) -> str:
        return yaml.dump(data, Dumper=yaml.SafeDumper, width=1 << 30, allow_unicode=True)

    @staticmethod
    def deserialize(text: str) -> Any:
        return yamlserializer.deserialize(text)


def make_vcr(scrubber: Scrubber | None = None, *, record_mode: str = "none") -> vcr.VCR:
    scrubber = scrubber or Scrubber(_canary_keys())
    config = vcr.VCR(
        serializer="wide-yaml",
        record_mode=record_mode,
        match_on=("method", "host", "path", "query", "query_body"),
        # Not "authorization": the scrubber reads the credential scope (service, region) first.
        filter_headers=("x-amz-security-token", "cookie"),
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
        decode_compressed_response=True,
        record_on_exception=False,
    )
    config.register_serializer("wide-yaml", _WideYaml)
    config.register_matcher("query_body", query_body)
    return config


# -- finding secrets ---------------------------------------------------------------------------


@attrs.frozen
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


_RULES = (
    ("an AWS access key id", KEY_ID),
    ("a secret-access-key-shaped string", SECRET_SHAPE),
    ("a session-token-shaped string", TOKEN_SHAPE),
    ("an Authorization header", re.compile(r"(?i)\bauthorization\b")),
    ("a security token", re.compile(r"(?i)x-amz-security-token|\bsecuritytoken\b")),
    ("a signing date", re.compile(r"(?i)\bx-amz-date\b")),
    ("a signature", SIGNATURE),
    ("a signed URL", re.compile(r"(?i)x-amz-(signature|credential)")),
    ("a credential scope", re.compile(r"(?i)\bcredential=")),
    ("a secret access key field", re.compile(r"(?i)secret_?access_?key\W+(?!REDACTED)\w")),
    ("a password", PASSWORD),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)


def find_secrets(path: Path, literals: Iterable[str] = ()) -> list[Finding]:
    """Every line of ``path`` that holds something credential-like, or one of ``literals``."""
    found: list[Finding] = []
    exact = [s for s in literals if s]
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        found += [Finding(str(path), number, what) for what, rule in _RULES if rule.search(line)]
        if any(s in line for s in exact):
            found.append(Finding(str(path), number, "the credential used to record"))
    return found


# -- replaying ---------------------------------------------------------------------------------


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        self.sleeps += 1
        await asyncio.sleep(0)


def _canary_keys() -> AwsKeys:
    return AwsKeys(Secret(CANARY_KEY_ID), Secret(CANARY_SECRET), None, "cassettes")


@attrs.frozen
class Replay:
    result: FlowResult | None
    error: BaseException | None
    interactions: int
    unplayed: tuple[str, ...]
    #: Requests the cassette had no answer for (each raised CannotOverwriteExistingCassette).
    missing: tuple[str, ...]
    #: Every request the flow made, scrubbed (as matched).
    sent: tuple[Request, ...]
    sleeps: int
    #: The operation id of the provider-level steps (from the cassette's metadata).
    operation: str


def _describe(request: Request) -> str:
    params = dict(_form(request.body) or [])
    return f"{request.method} {request.host} {params.get('Action', request.path)}"


class _NotInCassette(BaseException):
    """A request the cassette has no answer for. Not an :class:`Exception`, so that neither
    aiobotocore (which would wrap it in a transport error) nor botocore's retries nor the
    core's create attempts (which would try again, sleeping) take it for a lost answer: the
    flow stops at once, and :func:`replay` raises vcr's own exception for it."""


async def replay(
    kind: str, path: Path, *, keys: AwsKeys | None = None, endpoint: str = "http://127.0.0.1:9"
) -> Replay:
    """Run ``kind``'s flow against its cassette: no recording, fake time, any ``endpoint``
    (nothing is sent: vcr answers every call or refuses it).

    The fake clock moves by the recording's poll interval per round, so deadlines and grace
    periods fall where they fell when it was recorded. A request the cassette lacks stops the
    flow and is raised as vcr's :class:`CannotOverwriteExistingCassetteException`.
    """
    time = FakeTime()
    scrubber = Scrubber(keys or _canary_keys())
    sent: list[Request] = []
    missing: list[str] = []
    first_missing: list[Request] = []
    with make_vcr(scrubber).use_cassette(str(path), record_mode="none") as cassette:
        region = str(cassette.get_metadata("region", None))
        poll = float(cassette.get_metadata("poll_interval", None))
        grace = float(cassette.get_metadata("visibility_grace", VISIBILITY_GRACE))
        operation = str(cassette.get_metadata("operation", OPERATION))
        can_play = cassette.can_play_response_for

        def watched(request: Request) -> bool:
            clean = scrubber.request(request)
            sent.append(clean)
            if not can_play(request):
                missing.append(_describe(clean))
                first_missing.append(clean)
                raise _NotInCassette(missing[-1])
            return True

        cassette.can_play_response_for = watched  # type: ignore[method-assign]
        timing = Timing(
            poll_interval=poll,
            visibility_grace=grace,
            action_timeout=ACTION_TIMEOUT,
            clock=time.clock,
            sleep=time.sleep,
        )
        provider = AwsProvider(keys or _canary_keys(), endpoint_url=endpoint, env={}, timing=timing)
        result: FlowResult | None = None
        error: BaseException | None = None
        try:
            result = await FLOWS[kind](provider, region, operation)
        except (Exception, _NotInCassette) as exc:
            error = exc
        finally:
            await provider.aclose()
        played = cassette.play_counts
        unplayed = tuple(_describe(r) for i, r in enumerate(cassette.requests) if not played[i])
        if missing:
            raise CannotOverwriteExistingCassetteException(
                cassette=cassette, failed_request=first_missing[0]
            ) from error
        return Replay(
            result,
            error,
            len(cassette),
            unplayed,
            tuple(missing),
            tuple(sent),
            time.sleeps,
            operation,
        )


# -- recording ---------------------------------------------------------------------------------


@attrs.frozen
class Target:
    """Where a recording is made: ``emulator`` (ours or one at ``endpoint``) or ``aws``."""

    name: str
    keys: AwsKeys
    region: str
    poll_interval: float
    endpoint: str | None = None
    #: The account id to replace (AWS only; an emulator's is made up and kept).
    account: str | None = None


async def record(
    kind: str, target: Target, dest: Path, *, check: Callable[[], None] = lambda: None
) -> int:
    """Record ``kind``'s flow into ``dest``; returns the number of interactions.

    The cassette is written to a scratch file first and replaces ``dest`` only once it is free
    of secrets and replays offline, completely.
    """
    scrubber = Scrubber(target.keys, target.account)
    operation = f"cassette-{secrets.token_hex(6)}"
    timing = Timing(
        poll_interval=target.poll_interval,
        visibility_grace=VISIBILITY_GRACE,
        action_timeout=ACTION_TIMEOUT,
    )
    provider = AwsProvider(target.keys, endpoint_url=target.endpoint, env={}, timing=timing)
    with tempfile.TemporaryDirectory() as scratch:
        partial = Path(scratch) / dest.name
        try:
            recorder = make_vcr(scrubber, record_mode="all")
            with recorder.use_cassette(str(partial)) as cassette:
                cassette.get_metadata("region", target.region)
                cassette.get_metadata("target", target.name)
                cassette.get_metadata("poll_interval", target.poll_interval)
                cassette.get_metadata("visibility_grace", VISIBILITY_GRACE)
                cassette.get_metadata("operation", operation)
                result = await FLOWS[kind](provider, target.region, operation)
        finally:
            await provider.aclose()
        if result.leftovers:
            raise SystemExit(f"{kind}: the flow left {list(result.leftovers)} behind")
        check()
        findings = find_secrets(partial, target.keys.secrets())
        if scrubber.problems or findings:
            where = [str(f).replace(str(partial), dest.name) for f in findings]
            raise SystemExit(f"{kind}: not saved: {scrubber.problems + where}")
        replayed = await replay(kind, partial)
        if replayed.error is not None:
            raise SystemExit(f"{kind}: not saved: the replay failed: {replayed.error!r}")
        if replayed.unplayed:
            raise SystemExit(f"{kind}: not saved: the replay skipped {replayed.unplayed}")
        if replayed.result is not None and replayed.result.facts != result.facts:
            raise SystemExit(
                f"{kind}: not saved: the replay saw {replayed.result.facts}, not {result.facts}"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(partial.read_text(encoding="utf-8"), encoding="utf-8")
        return replayed.interactions


async def record_on_emulator(
    kind: str,
    dest: Path,
    *,
    config: FidelityConfig = EMULATOR,
    poll_interval: float = EMULATOR_POLL,
    keys: AwsKeys | None = None,
) -> int:
    """Record against an emulator of our own, on loopback, from a fresh account (the
    account the key id gets); it must end as empty as it began."""
    keys = keys or _canary_keys()
    emulator = AwsEmulator(config=config).start()
    try:
        target = Target("emulator", keys, REGION, poll_interval, emulator.url)

        def empty() -> None:
            if not _is_empty(emulator, keys):
                raise SystemExit(f"{kind}: the flow left objects in the emulator")

        return await record(kind, target, dest, check=empty)
    finally:
        emulator.stop()


async def _account_id(keys: AwsKeys, region: str) -> str:
    """The recording account's id (STS GetCallerIdentity), outside any cassette."""
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "sts",
        region_name=region,
        aws_access_key_id=keys.access_key_id.reveal(),
        aws_secret_access_key=keys.secret_access_key.reveal(),
        aws_session_token=keys.session_token.reveal() if keys.session_token else None,
    ) as sts:
        return str((await sts.get_caller_identity())["Account"])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint",
        help="record against the emulator at this URL (`atlas emulator --provider aws`)",
    )
    where.add_argument(
        "--real",
        action="store_true",
        help="record against AWS itself with the credential of the environment (costs money)",
    )
    p.add_argument("--region", default=REGION, help=f"region (default {REGION})")
    p.add_argument("--kind", action="append", choices=KINDS, help="only these flows (repeatable)")
    p.add_argument(
        "--poll-interval", type=float, help="seconds between polls (emulator 0.3, AWS 5)"
    )
    p.add_argument("--out", type=Path, default=CASSETTES, help="directory for the cassettes")
    return p


async def _real_target(args: argparse.Namespace) -> Target:
    keys = await AwsCredentialChain(SECRET_KEY.chain(env=os.environ), os.environ).resolve()
    account = await _account_id(keys, args.region)
    return Target("aws", keys, args.region, args.poll_interval or REAL_POLL, None, account)


async def _record_all(args: argparse.Namespace, kinds: list[str]) -> None:
    target: Target | None = None
    if args.real:
        target = await _real_target(args)
        print(
            f"recording {', '.join(kinds)} in AWS {target.region}: this creates billable "
            "objects (instances, a DB instance, a load balancer) for minutes and deletes them"
        )
    elif args.endpoint:
        keys = _canary_keys()
        poll = args.poll_interval or EMULATOR_POLL
        target = Target("emulator", keys, args.region, poll, args.endpoint)
    for kind in kinds:
        dest = args.out / f"{kind}.yaml"
        if target is not None:
            count = await record(kind, target, dest)
        else:
            count = await record_on_emulator(
                kind, dest, poll_interval=args.poll_interval or EMULATOR_POLL
            )
        print(f"recorded {kind}: {count} interactions, {dest.stat().st_size} bytes -> {dest}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_record_all(args, list(args.kind or KINDS)))
    except CredentialsError as exc:  # names the places tried, never a value
        print(f"refusing to record against AWS: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
