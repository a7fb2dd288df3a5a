"""Cassettes of the DigitalOcean provider's flows: the vcr configuration, the scrubbers, replay,
a secret scanner, and the recorder.

Record (re-writes ``cassettes/<kind>.yaml``)::

    python -m tests.atlas_digitalocean.recording            # against the emulator, on loopback
    DIGITALOCEAN_TOKEN=... python -m tests.atlas_digitalocean.recording --real --region fra1

Requests match on method, path, query and (for writes) the JSON body, never on scheme, host or
port, so a cassette recorded against the emulator or the real API replays anywhere. Before
anything is written, requests keep only their ``Accept`` and ``Content-Type`` headers,
responses only the headers the client reads, and every string is scrubbed of tokens,
passwords, credentials in URIs and private keys. A fresh cassette is scanned for secrets and
replayed offline before it replaces the old one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import vcr
import yaml
from vcr.serializers import yamlserializer

from atlas.credentials import Secret
from atlas.model.cloud import Owner
from atlas_digitalocean.emulator import Emulator, EmulatorConfig, serve
from atlas_digitalocean.ops import ALL_OPS, OpsSettings
from atlas_digitalocean.provider import DEFAULT_API_URL, DigitalOceanProvider
from tests.atlas_digitalocean.flows import FLOWS, KINDS, FlowResult, missing_ops

CASSETTES = Path(__file__).resolve().parent / "cassettes"
#: Every cassette is written as if it had been recorded against the real API.
ORIGIN = DEFAULT_API_URL
#: Who the recorded objects belong to; their names and tags derive from it.
OWNER = Owner("cassettes", "atlas-rec")
#: A made-up token: recordings against the emulator use it, replays send it.
CANARY_TOKEN = "dop_v1_" + "c0ffee15deadbeef" * 4
REDACTED = "REDACTED"
#: What the emulator is told when recording: short latencies, reproducible ids.
EMULATOR_LATENCY_SCALE, EMULATOR_SEED, EMULATOR_POLL = 0.05, 7, 0.1

REQUEST_HEADERS = frozenset({"accept", "content-type"})
RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "retry-after",
        "x-request-id",
    }
)
#: JSON keys whose string values are secrets, at any depth (database users and connections,
#: Kafka and OpenSearch credentials, Spaces keys).
SECRET_KEYS = frozenset(
    {
        "password",
        "secret",
        "secret_key",
        "access_key",
        "access_cert",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "private_key",
        "passphrase",
    }
)

TOKEN = re.compile(r"\bdo[a-z]_v1_[A-Za-z0-9]+")
BEARER = re.compile(r"(?i)\b(bearer)\s+(?!REDACTED\b)[A-Za-z0-9._~+/=-]+")
URI_CREDENTIALS = re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s:@\"']+):[^@\s\"'/]*@")
PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S
)


# -- scrubbing ---------------------------------------------------------------------------------


def scrub_text(text: str, literals: Iterable[str] = ()) -> str:
    """``text`` without tokens, bearer credentials, passwords in URIs or private keys."""
    for literal in literals:
        text = text.replace(literal, REDACTED)
    text = PRIVATE_KEY.sub(REDACTED, text)
    text = TOKEN.sub(REDACTED, text)
    text = BEARER.sub(rf"\1 {REDACTED}", text)
    return URI_CREDENTIALS.sub(r"\1@", text)


def secret_values(value: Any) -> set[str]:
    """The values of secret-named fields, at any depth (to find them in URIs too, whatever
    characters they hold); short ones are left out, since replacing them could hit an id."""
    if isinstance(value, dict):
        own = {v for k, v in value.items() if k.lower() in SECRET_KEYS and isinstance(v, str)}
        return {v for v in own if len(v) >= 8}.union(*map(secret_values, value.values()))
    if isinstance(value, list):
        return set().union(*map(secret_values, value))
    return set()


def scrub_json(value: Any, text: Callable[[str], str] = scrub_text) -> Any:
    """A copy of ``value`` with every secret-named field emptied and every string scrubbed."""
    if isinstance(value, dict):
        return {
            k: "" if k.lower() in SECRET_KEYS and isinstance(v, str) else scrub_json(v, text)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_json(v, text) for v in value]
    return text(value) if isinstance(value, str) else value


@attrs.define
class Scrubber:
    """vcr's ``before_record_request`` and ``before_record_response``.

    :param origin: where the recording is made; written down as :data:`ORIGIN`.
    :param secrets: values to remove wherever they appear (the token in use).
    """

    origin: str = ORIGIN
    secrets: tuple[Secret, ...] = ()
    #: Bodies that could not be scrubbed (not JSON); a cassette with any is not kept.
    problems: list[str] = attrs.field(factory=list)

    def text(self, text: str, also: Iterable[str] = ()) -> str:
        literals = [*(s.reveal() for s in self.secrets if s.reveal()), *also]
        return scrub_text(text.replace(self.origin.rstrip("/"), ORIGIN), literals)

    def _body(self, body: bytes | str | None, where: str) -> bytes:
        raw = body.encode() if isinstance(body, str) else body or b""
        if not raw:
            return b""
        try:
            doc = json.loads(raw)
        except ValueError:
            self.problems.append(f"{where}: a body that is not JSON was replaced")
            return REDACTED.encode()
        found = secret_values(doc)
        clean = scrub_json(doc, lambda text: self.text(text, found))
        return json.dumps(clean, separators=(",", ":"), ensure_ascii=False).encode()

    def request(self, request: Any) -> Any:
        request.uri = self.text(request.uri)
        request.headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
        request.body = self._body(request.body, f"{request.method} {request.path}")
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {
            k: [self.text(v) for v in values]
            for k, values in response["headers"].items()
            if k.lower() in RESPONSE_HEADERS
        }
        body = response["body"]["string"]
        response["body"]["string"] = self._body(body, f"response {response['status']['code']}")
        return response


def write_body(r1: Any, r2: Any) -> None:
    """vcr matcher: writes match on their JSON bodies; reads have none to compare."""
    if r1.method.upper() in ("GET", "HEAD"):
        return
    bodies = []
    for r in (r1, r2):
        raw = r.body or b""
        try:
            bodies.append(json.loads(raw) if raw else None)
        except ValueError:
            bodies.append(raw)
    if bodies[0] != bodies[1]:
        raise AssertionError(f"bodies differ: {bodies[0]!r} != {bodies[1]!r}")


class _WideYaml:
    """vcr's safe YAML, with each string on one line so a finding has an exact line number."""

    @staticmethod
    def serialize(data: Any) -> str:
        return yaml.dump(data, Dumper=yaml.SafeDumper, width=1 << 30, allow_unicode=True)

    @staticmethod
    def deserialize(text: str) -> Any:
        return yamlserializer.deserialize(text)


def make_vcr(scrubber: Scrubber | None = None, *, record_mode: str = "none") -> vcr.VCR:
    scrubber = scrubber or Scrubber()
    config = vcr.VCR(
        serializer="wide-yaml",
        record_mode=record_mode,
        match_on=("method", "path", "query", "write_body"),
        filter_headers=("authorization", "cookie", "set-cookie"),
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
        decode_compressed_response=True,
        record_on_exception=False,
    )
    config.register_serializer("wide-yaml", _WideYaml)
    config.register_matcher("write_body", write_body)
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
    ("a DigitalOcean token", TOKEN),
    ("a bearer credential", BEARER),
    ("an Authorization header", re.compile(r"(?i)\bauthorization\b")),
    ("a cookie", re.compile(r"(?i)(^|[\s\"'])(set-)?cookie\s*[\"']?:")),
    ("a URI with credentials", URI_CREDENTIALS),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    (
        "a secret field with a value",
        re.compile(
            rf"(?i)[\\\"']*\b({'|'.join(sorted(SECRET_KEYS))})\b[\\\"']*\s*:\s*"
            r"(\\?\"[^\"\\]+|'[^']+'|(?!null\b|true\b|false\b)\w)"
        ),
    ),
)


def find_secrets(path: Path, literals: Iterable[str] = ()) -> list[Finding]:
    """Every line of ``path`` that holds something secret-looking, or one of ``literals``."""
    found: list[Finding] = []
    exact = [s for s in literals if s]
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        found += [Finding(str(path), number, what) for what, rule in _RULES if rule.search(line)]
        if any(s in line for s in exact):
            found.append(Finding(str(path), number, "the token used to record"))
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


@attrs.frozen
class Replay:
    result: FlowResult
    region: str
    interactions: int
    unplayed: tuple[str, ...]
    sleeps: int


async def replay(
    kind: str, path: Path, *, token: str = CANARY_TOKEN, base_url: str = ORIGIN
) -> Replay:
    """Run ``kind``'s flow against its cassette: no recording, fake time, any ``base_url``.

    The fake clock moves by the recording's poll interval per round, so deadlines and grace
    periods fall where they fell when it was recorded.
    """
    time = FakeTime()
    with make_vcr().use_cassette(str(path), record_mode="none") as cassette:
        region = str(cassette.get_metadata("region", None))
        poll = float(cassette.get_metadata("poll_interval", None))
        settings = OpsSettings(poll_interval=poll, clock=time.clock, sleep=time.sleep)
        provider = DigitalOceanProvider(Secret(token), base_url=base_url, settings=settings, env={})
        try:
            result = await FLOWS[kind](provider, OWNER, region=region)
        finally:
            await provider.aclose()
        requests = enumerate(cassette.requests)
        unplayed = tuple(f"{r.method} {r.path}" for i, r in requests if not cassette.play_counts[i])
        return Replay(result, region, len(cassette), unplayed, time.sleeps)


# -- recording ---------------------------------------------------------------------------------


@attrs.frozen
class Target:
    """Where a recording is made: the emulator or the real API."""

    name: str
    token: Secret
    region: str
    poll_interval: float


async def record(
    kind: str,
    target: Target,
    base_url: str,
    dest: Path,
    *,
    check: Callable[[], None] = lambda: None,
) -> int:
    """Record ``kind``'s flow into ``dest``; returns the number of interactions.

    The cassette is written to a scratch file first and replaces ``dest`` only once it is free
    of secrets and replays offline.
    """
    scrubber = Scrubber(origin=base_url, secrets=(target.token,))
    settings = OpsSettings(poll_interval=target.poll_interval)
    provider = DigitalOceanProvider(target.token, base_url=base_url, settings=settings, env={})
    with tempfile.TemporaryDirectory() as scratch:
        partial = Path(scratch) / dest.name
        try:
            recorder = make_vcr(scrubber, record_mode="all")
            with recorder.use_cassette(str(partial)) as cassette:
                cassette.get_metadata("region", target.region)
                cassette.get_metadata("target", target.name)
                cassette.get_metadata("poll_interval", target.poll_interval)
                result = await FLOWS[kind](provider, OWNER, region=target.region)
        finally:
            await provider.aclose()
        if result.leftovers:
            raise SystemExit(f"{kind}: the flow left {[s.ids for s in result.leftovers]} behind")
        check()
        findings = find_secrets(partial, [target.token.reveal()])
        if scrubber.problems or findings:
            where = [str(f).replace(str(partial), dest.name) for f in findings]
            raise SystemExit(f"{kind}: not saved: {scrubber.problems + where}")
        replayed = await replay(kind, partial)
        if replayed.unplayed:
            raise SystemExit(f"{kind}: not saved: the replay skipped {replayed.unplayed}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(partial.read_text(encoding="utf-8"), encoding="utf-8")
        return replayed.interactions


async def record_on_emulator(
    kind: str,
    dest: Path,
    *,
    latency_scale: float = EMULATOR_LATENCY_SCALE,
    seed: int = EMULATOR_SEED,
    poll_interval: float = EMULATOR_POLL,
    token: str = CANARY_TOKEN,
) -> int:
    """Record against an emulator of our own, on loopback; it must end as it began.

    Like a real account, the emulated one has a default VPC in the region before the flow
    starts (else the flow's own VPC would become the default, which cannot be deleted).
    """
    target = Target("emulator", Secret(token), "nyc3", poll_interval)
    served = serve("127.0.0.1", 0, EmulatorConfig(latency_scale=latency_scale, seed=seed))
    try:
        headers = {"Authorization": f"Bearer {token}"}
        default_vpc = {"name": f"default-{target.region}", "region": target.region}
        async with httpx.AsyncClient(base_url=served.url, headers=headers) as client:
            (await client.post("/v2/vpcs", json=default_vpc)).raise_for_status()
        before = _inventory(served.emulator)

        def unchanged() -> None:
            if _inventory(served.emulator) != before:
                raise SystemExit(f"{kind}: the flow left objects in the emulator")

        return await record(kind, target, served.url, dest, check=unchanged)
    finally:
        served.close()


def _inventory(emulator: Emulator) -> dict[str, set[str]]:
    kinds = ("droplets", "volumes", "databases", "load_balancers", "firewalls", "vpcs")
    return {k: {str(o["id"]) for o in emulator.objects(k)} for k in kinds}


async def _preflight(target: Target) -> None:
    """Refuse to record over objects an earlier, aborted recording left in the account."""
    provider = DigitalOceanProvider(target.token, settings=OpsSettings(), env={})
    try:
        left = await provider.discover(OWNER)
    finally:
        await provider.aclose()
    if left:
        names = "; ".join(f"{s.type} {s.name} ({', '.join(s.ids)})" for s in left)
        raise SystemExit(f"delete these leftovers of an earlier recording first: {names}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--real",
        action="store_true",
        help="record against api.digitalocean.com with $DIGITALOCEAN_TOKEN (costs money)",
    )
    p.add_argument("--region", default="nyc3", help="region for --real (default nyc3)")
    p.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    p.add_argument(
        "--poll-interval", type=float, help="seconds between polls (emulator 0.1, real 5)"
    )
    p.add_argument("--latency-scale", type=float, default=EMULATOR_LATENCY_SCALE)
    p.add_argument("--seed", type=int, default=EMULATOR_SEED)
    p.add_argument("--out", type=Path, default=CASSETTES, help="directory for the cassettes")
    return p


def _real_target(args: argparse.Namespace) -> Target | None:
    raw = os.environ.get("DIGITALOCEAN_TOKEN", "").strip()
    if not raw:
        return None
    return Target("digitalocean", Secret(raw), args.region, args.poll_interval or 5.0)


async def _record_all(args: argparse.Namespace, kinds: list[str], real: Target | None) -> None:
    if real is not None and kinds:
        print(
            f"recording {', '.join(kinds)} against {ORIGIN} in {real.region}: this creates "
            "billable objects for a few minutes and deletes them"
        )
        await _preflight(real)
    for kind in kinds:
        dest = args.out / f"{kind}.yaml"
        if real is not None:
            count = await record(kind, real, ORIGIN, dest)
        else:
            count = await record_on_emulator(
                kind,
                dest,
                latency_scale=args.latency_scale,
                seed=args.seed,
                poll_interval=args.poll_interval or EMULATOR_POLL,
            )
        print(f"recorded {kind}: {count} interactions, {dest.stat().st_size} bytes -> {dest}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    real = None
    if args.real:
        real = _real_target(args)
        if real is None:
            print(
                "refusing to record against the real API: DIGITALOCEAN_TOKEN is not set",
                file=sys.stderr,
            )
            return 2
    available = {cls.type for cls in ALL_OPS}
    kinds: list[str] = []
    for kind in args.kind or KINDS:
        if missing := missing_ops(kind, available):
            print(f"skip {kind}: the provider cannot manage {', '.join(missing)} yet")
        else:
            kinds.append(kind)
    asyncio.run(_record_all(args, kinds, real))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
