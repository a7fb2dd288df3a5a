"""The fidelity layer: a WSGI middleware in front of moto's server that adds what AWS does
and moto does not.

- **ClientToken idempotency** for ``RunInstances`` and ``CreateVolume``: a repeated token
  gets the first call's answer (moto would launch again), a token reused with other parameters
  ``IdempotentParameterMismatch``, a token whose instances are all terminated
  ``IdempotentInstanceTerminated``.
- **Launches take time**: an instance shows ``pending`` for ``pending_seconds``.
- **Eventual consistency**: for ``invisible_seconds`` after its launch an instance is left
  out of ``DescribeInstances`` lists, and asking for it by id answers
  ``InvalidInstanceID.NotFound``.
- **Throttling**: EC2's request token buckets per account (``RequestLimitExceeded``, HTTP
  503), and throttling on demand.
- **EC2's XML namespace**: moto writes ``xmlns="http://ec2.amazonaws.com/doc/2016-11-15"``,
  EC2 the same with a trailing slash; clients that match elements by namespace (Apache
  Libcloud) find nothing in moto's answers until the slash is put back.
- **Faults** for the conformance kit: a create carried out then answered with a 500, or
  carried out and then the connection dropped.
- **RDS**: DB instances ``creating`` then ``available``, ``deleting`` before they are gone,
  unique subnet group names (:mod:`.rds`); throttling and faults as for EC2 (RDS answers
  ``Throttling``).
- **ELBv2** (:mod:`atlas_aws.emulator.elb`): load balancers provisioning before active,
  creates idempotent by name, target groups held a while after their load balancer's delete.
- **A fresh account per access key id**: moto keys its state by account; the layer derives
  one from the key id, so every credential starts with an account of its own, default VPC
  and all, as a new AWS account does. Public images are registered in every region.
  Temporary credentials STS issued (``AssumeRole``: moto serves STS as it is) act in the
  account of the role they assumed, as AWS's do, whatever key id each renewal brings.

Requests marked ``X-Atlas-Emulator: outside`` (changes made "by hand" for tests) are
neither counted nor faulted.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import socket
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import attrs

from atlas_aws.emulator.elb import SERVICE as ELB_SERVICE
from atlas_aws.emulator.elb import ElbFidelity, elb_error
from atlas_aws.emulator.images import seed_images
from atlas_aws.emulator.rds import RdsLayer, rds_error
from atlas_aws.emulator.state import Account, Bucket, FaultKind, Launch

__all__ = ["CREATE_ACTIONS", "Fidelity", "FidelityConfig", "account_for"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/")
#: The EC2 action that creates each kind (what the kit's create faults strike).
CREATE_ACTIONS = {
    "instance": "RunInstances",
    "vpc": "CreateVpc",
    "subnet": "CreateSubnet",
    "security_group": "CreateSecurityGroup",
    "volume": "CreateVolume",
    "db_instance": "CreateDBInstance",
    "load_balancer": "CreateLoadBalancer",
}
OUTSIDE_HEADER = "HTTP_X_ATLAS_EMULATOR"


@attrs.frozen
class FidelityConfig:
    """How the layer behaves; every part is on by default."""

    pending_seconds: float = 5.0
    invisible_seconds: float = 1.0
    idempotency: bool = True
    rate_limits: bool = True
    #: EC2's buckets: (capacity, refill per second) for reads and for changes.
    describe_bucket: tuple[float, float] = (100.0, 20.0)
    mutate_bucket: tuple[float, float] = (200.0, 5.0)
    #: How long a new DB instance shows ``creating``, and a deleted one ``deleting`` (RDS
    #: takes minutes for each; these are its pace compressed).
    db_creating_seconds: float = 60.0
    db_deleting_seconds: float = 30.0
    #: A new load balancer is ``provisioning`` this long; a deleted one holds its target
    #: groups (``ResourceInUse``) this long.
    provisioning_seconds: float = 30.0
    release_seconds: float = 5.0


def account_for(access_key_id: str) -> str:
    """The 12-digit account an access key id belongs to, here."""
    return str(int(hashlib.sha256(access_key_id.encode()).hexdigest(), 16))[:12].rjust(12, "1")


def _account_of(access_key_id: str) -> str:
    """The account of a key: a role's, for the temporary key (``ASIA...``) STS issued when
    it was assumed; otherwise the fresh account of :func:`account_for`."""
    if access_key_id.startswith("ASIA"):
        from moto.iam.models import iam_backends  # noqa: PLC0415 - moto's record of the keys

        for account_id, backends in list(iam_backends.items()):
            for backend in list(backends.values()):  # the partitions made so far
                if access_key_id in backend.access_keys:
                    return str(account_id)
    return account_for(access_key_id)


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    )
    return status, body.encode()


#: The error shape of each service the layer answers for (EC2's otherwise).
_ERRORS: dict[str, Callable[[int, str, str], tuple[int, bytes]]] = {
    "rds": rds_error,
    ELB_SERVICE: elb_error,
}


class Fidelity:
    """The middleware; ``clock`` is the layer's time (monotonic seconds)."""

    def __init__(
        self,
        app: WSGIApp,
        config: FidelityConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.config = config or FidelityConfig()
        self.clock = clock
        self._accounts: dict[str, Account] = {}

        def clock_now() -> float:  # the clock a test swaps in later
            return self.clock()

        self.rds = RdsLayer(
            clock_now, self.config.db_creating_seconds, self.config.db_deleting_seconds
        )
        self.elb = ElbFidelity(
            self.config.provisioning_seconds, self.config.release_seconds, clock_now
        )

    def account(self, account_id: str) -> Account:
        found = self._accounts.get(account_id)
        if found is None:
            found = self._accounts.setdefault(account_id, Account(account_id))
        return found

    # -- WSGI -------------------------------------------------------------------------------

    def __call__(self, req: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        size = int(req.get("CONTENT_LENGTH") or 0)
        body = req["wsgi.input"].read(size) if size else b""
        req["wsgi.input"] = io.BytesIO(body)
        match = _CREDENTIAL.search(req.get("HTTP_AUTHORIZATION", ""))
        if match is None or match.group(3) not in ("ec2", "rds", ELB_SERVICE):
            return self.app(req, start_response)
        key_id, region, service = match.group(1), match.group(2), match.group(3)
        account = self.account(req.get("HTTP_X_MOTO_ACCOUNT_ID") or _account_of(key_id))
        req["HTTP_X_MOTO_ACCOUNT_ID"] = account.account_id
        if service == "ec2":
            seed_images(account.account_id, region)
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        # EC2's Query API takes its parameters in a POST body (the SDKs) or in the query
        # string of a GET (Apache Libcloud).
        params = {**dict(parse_qsl(req.get("QUERY_STRING", ""), keep_blank_values=True)), **params}
        action = params.get("Action", "")
        if req.get(OUTSIDE_HEADER) == "outside":
            return self.app(req, start_response)
        with account.lock:
            account.requests += 1
            account.actions.append(action)
            account.regions.add(region)
        error = _ERRORS.get(service, _error)
        refused = self._refusal(account, action, service)
        if refused is not None:
            return _respond(start_response, *refused)
        if service in ("rds", ELB_SERVICE):
            side = self.rds if service == "rds" else self.elb
            status, headers, out = side.handle(
                account, region, action, params, lambda: _call(self.app, req)
            )
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        else:
            status, headers, out = self._handle(account, action, params, req)
        if status == 200 and action in CREATE_ACTIONS.values():
            if account.strike(FaultKind.ERROR_AFTER, action):
                return _respond(start_response, *error(500, "InternalError", "internal error"))
            if account.strike(FaultKind.DROP_AFTER, action):
                _drop(req)
                # Werkzeug's write to the closed socket fails quietly: nothing reaches the
                # client, which sees the connection end.
                return _respond(start_response, 200, b"")
        if status == 200:
            out = out.replace(_MOTO_NS, _EC2_NS, 1)
        start_response(_status_line(status), headers)
        return [out]

    def _refusal(
        self, account: Account, action: str, service: str = "ec2"
    ) -> tuple[int, bytes] | None:
        error = _ERRORS.get(service, _error)
        if service == "ec2":
            limited = (503, "RequestLimitExceeded", "Request limit exceeded.")
        else:  # RDS and ELBv2 throttle in their own shape
            limited = (400, "Throttling", "Rate exceeded")
        if account.strike(FaultKind.THROTTLE, action):
            return error(*limited)
        if not self.config.rate_limits:
            return None
        reads = action.startswith(("Describe", "List"))
        kind = ("describe" if reads else "mutate") + ("" if service == "ec2" else f"-{service}")
        capacity, refill = self.config.describe_bucket if reads else self.config.mutate_bucket
        now = self.clock()
        with account.lock:
            bucket = account.buckets.setdefault(kind, Bucket(capacity, refill, capacity, now))
            if not bucket.take(now):
                return error(*limited)
        return None

    def _handle(
        self, account: Account, action: str, params: Mapping[str, str], req: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if action in _IDEMPOTENT and self.config.idempotency:
            replay = self._replay(account, action, params)
            if replay is not None:
                return replay
        if action == "DescribeInstances":
            unknown = self._hidden_asked(account, params)
            if unknown:
                message = f"The instance ID '{unknown}' does not exist"
                status, body = _error(400, "InvalidInstanceID.NotFound", message)
                return status, _XML, body
        status, headers, out = _call(self.app, req)
        if status != 200:
            return status, headers, out
        if action in _IDEMPOTENT:
            self._launched(account, action, params, out)
        elif action == "DescribeInstances":
            out = self._as_aws_shows(account, out)
        return status, [(k, v) for k, v in headers if k.lower() != "content-length"], out

    # -- RunInstances -----------------------------------------------------------------------

    @staticmethod
    def _fingerprint(params: Mapping[str, str]) -> str:
        kept = sorted((k, v) for k, v in params.items() if k not in ("ClientToken", "Version"))
        return hashlib.sha256(repr(kept).encode()).hexdigest()

    def _replay(
        self, account: Account, action: str, params: Mapping[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        token = params.get("ClientToken")
        if not token:
            return None
        with account.lock:
            launch = account.tokens.get(f"{action}/{token}")
        if launch is None:
            return None
        if launch.fingerprint != self._fingerprint(params):
            message = (
                "Arguments on this idempotent request are inconsistent with arguments used "
                "in previous request(s)."
            )
            status, body = _error(400, "IdempotentParameterMismatch", message)
            return status, _XML, body
        if action == "RunInstances" and _all_terminated(account, launch.instance_ids):
            message = (
                "The client token you have provided is associated with a resource that is "
                "already deleted."
            )
            status, body = _error(400, "IdempotentInstanceTerminated", message)
            return status, _XML, body
        return 200, _XML, launch.body

    def _launched(
        self, account: Account, action: str, params: Mapping[str, str], out: bytes
    ) -> None:
        root = ET.fromstring(out)  # noqa: S314 - moto's own answer, not untrusted input
        key = _IDEMPOTENT[action]
        ids = tuple(e.text or "" for e in root.iter(f"{_ns(root)}{key}"))
        now = self.clock()
        with account.lock:
            if action == "RunInstances":
                for instance_id in ids:
                    account.launched[instance_id] = now
            token = params.get("ClientToken")
            if token and self.config.idempotency:
                account.tokens[f"{action}/{token}"] = Launch(self._fingerprint(params), out, ids)

    # -- DescribeInstances ------------------------------------------------------------------

    def _young(self, account: Account, seconds: float) -> set[str]:
        now = self.clock()
        with account.lock:
            return {i for i, t in account.launched.items() if now - t < seconds}

    def _hidden_asked(self, account: Account, params: Mapping[str, str]) -> str | None:
        asked = [v for k, v in params.items() if k.startswith("InstanceId.")]
        hidden = self._young(account, self.config.invisible_seconds)
        return next((i for i in asked if i in hidden), None)

    def _as_aws_shows(self, account: Account, out: bytes) -> bytes:
        hidden = self._young(account, self.config.invisible_seconds)
        pending = self._young(account, self.config.pending_seconds)
        if not hidden and not pending:
            return out
        root = ET.fromstring(out)  # noqa: S314 - moto's own answer, not untrusted input
        ns = _ns(root)
        ET.register_namespace("", ns[1:-1])
        for reservations in root.iter(f"{ns}reservationSet"):
            for reservation in list(reservations):
                instances = reservation.find(f"{ns}instancesSet")
                if instances is None:
                    continue
                for item in list(instances):
                    instance_id = item.findtext(f"{ns}instanceId") or ""
                    if instance_id in hidden:
                        instances.remove(item)
                    elif instance_id in pending:
                        _show_pending(item, ns)
                if len(instances) == 0:
                    reservations.remove(reservation)
        text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return text


_XML = [("Content-Type", "text/xml")]
#: The namespace of moto's EC2 answers, and EC2's own (smithy-lang/smithy#820 quotes one).
_MOTO_NS = b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15"'
_EC2_NS = b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
#: The calls EC2 makes idempotent with a ``ClientToken``, with the element naming what each
#: made.
_IDEMPOTENT = {"RunInstances": "instanceId", "CreateVolume": "volumeId"}


def _ns(root: ET.Element) -> str:
    """``{namespace}`` of a document (moto's templates do not all use one version)."""
    return root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""


def _show_pending(item: ET.Element, ns: str) -> None:
    state = item.find(f"{ns}instanceState")
    if state is None or state.findtext(f"{ns}name") != "running":
        return
    code, name = state.find(f"{ns}code"), state.find(f"{ns}name")
    if code is not None and name is not None:
        code.text, name.text = "0", "pending"


def _all_terminated(account: Account, ids: Iterable[str]) -> bool:
    from moto.ec2.models import ec2_backends  # noqa: PLC0415

    wanted = set(ids)
    with account.lock:
        regions = sorted(account.regions)
    for region in regions:
        for reservation in ec2_backends[account.account_id][region].reservations.values():
            for instance in reservation.instances:
                if instance.id in wanted and instance.state != "terminated":
                    return False
    return True


def _call(app: WSGIApp, req: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        del exc_info
        captured["status"], captured["headers"] = status, headers

    chunks = app(req, start_response)
    try:
        out = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return int(str(captured["status"]).split()[0]), list(captured["headers"]), out


def _respond(start_response: Callable[..., Any], status: int, body: bytes) -> list[bytes]:
    start_response(_status_line(status), [*_XML, ("Content-Length", str(len(body)))])
    return [body]


def _status_line(status: int) -> str:
    reasons = {
        200: "OK",
        400: "Bad Request",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    return f"{status} {reasons.get(status, 'Error')}"


def _drop(req: Mapping[str, Any]) -> None:
    """Close the connection without an answer (the call was carried out)."""
    sock = req.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
