"""What the fidelity layer adds to moto's ELBv2, as AWS behaves and moto does not:

- **a load balancer provisions**: ``provisioning`` for ``provisioning_seconds`` after its
  create, then ``active`` (moto makes it active at the first describe);
- **creates are idempotent by name**: ``CreateLoadBalancer`` and ``CreateTargetGroup`` sent
  again with the same settings answer with what the first made, with other settings (or for
  a name taken otherwise) ``DuplicateLoadBalancerName`` / ``DuplicateTargetGroupName`` (moto
  makes a second load balancer of the same name, and refuses every repeated group);
- **a deleted load balancer lets go of its target groups late**: for ``release_seconds``
  after ``DeleteLoadBalancer``, deleting a target group it forwarded to answers
  ``ResourceInUse`` (moto frees them at once; it refuses only while a listener uses one);
- errors and throttling in ELBv2's own shape (``Throttling``, HTTP 400).
"""

from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from atlas_aws.emulator.state import Account, Launch

__all__ = ["SERVICE", "ElbFidelity", "elb_error"]

#: The signing name of ELBv2 (and of the classic ELB API).
SERVICE = "elasticloadbalancing"
_NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
_XML = [("Content-Type", "text/xml")]
_BY_NAME = {
    "CreateLoadBalancer": ("load_balancers", "DuplicateLoadBalancerName", "load balancer"),
    "CreateTargetGroup": ("target_groups", "DuplicateTargetGroupName", "target group"),
}

Answer = tuple[int, list[tuple[str, str]], bytes]


def elb_error(status: int, code: str, message: str) -> tuple[int, bytes]:
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>{kind}</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    )
    return status, body.encode()


def _backend(account: Account, region: str) -> Any:
    from moto.elbv2.models import elbv2_backends  # noqa: PLC0415 - moto loads with the layer

    return elbv2_backends[account.account_id][region]


def _fingerprint(params: Mapping[str, str]) -> str:
    kept = sorted((k, v) for k, v in params.items() if k != "Version")
    return hashlib.sha256(repr(kept).encode()).hexdigest()


class ElbFidelity:
    """The ELBv2 part of :class:`~atlas_aws.emulator.layer.Fidelity`."""

    def __init__(self, provisioning_seconds: float, release_seconds: float, clock: Any) -> None:
        self.provisioning_seconds = provisioning_seconds
        self.release_seconds = release_seconds
        self.clock: Callable[[], float] = clock

    def handle(
        self,
        account: Account,
        region: str,
        action: str,
        params: Mapping[str, str],
        forward: Callable[[], Answer],
    ) -> Answer:
        if action in _BY_NAME:
            return self._create(account, region, action, params, forward)
        if action == "DeleteLoadBalancer":
            self._releasing(account, region, params.get("LoadBalancerArn", ""))
        if action == "DeleteTargetGroup":
            refused = self._held(account, params.get("TargetGroupArn", ""))
            if refused is not None:
                return refused
        status, headers, out = forward()
        if status == 200 and action == "DescribeLoadBalancers":
            out = self._as_aws_shows(account, out)
        return status, headers, out

    # -- creates by name --------------------------------------------------------------------

    def _create(
        self,
        account: Account,
        region: str,
        action: str,
        params: Mapping[str, str],
        forward: Callable[[], Answer],
    ) -> Answer:
        table, duplicate, noun = _BY_NAME[action]
        name = params.get("Name", "")
        key = f"{action}/{region}/{name}"
        taken = any(o.name == name for o in getattr(_backend(account, region), table).values())
        if taken:
            with account.lock:
                first = account.tokens.get(key)
            if first is not None and first.fingerprint == _fingerprint(params):
                return 200, _XML, first.body
            message = f"A {noun} with the same name '{name}' exists, with other settings"
            return _swap(elb_error(400, duplicate, message))
        status, headers, out = forward()
        if status != 200:
            return status, headers, out
        root = ET.fromstring(out)  # noqa: S314 - moto's own answer, not untrusted input
        arns = tuple(e.text or "" for e in root.iter() if e.tag.endswith("Arn"))
        with account.lock:
            account.tokens[key] = Launch(_fingerprint(params), out, arns)
            if action == "CreateLoadBalancer":
                for arn in arns:
                    if ":loadbalancer/" in arn:
                        account.launched[arn] = self.clock()
        return status, headers, out

    # -- provisioning -----------------------------------------------------------------------

    def _as_aws_shows(self, account: Account, out: bytes) -> bytes:
        now = self.clock()
        with account.lock:
            young = {
                arn
                for arn, made in account.launched.items()
                if ":loadbalancer/" in arn and now - made < self.provisioning_seconds
            }
        if not young:
            return out
        root = ET.fromstring(out)  # noqa: S314 - moto's own answer, not untrusted input
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        ET.register_namespace("", ns[1:-1])
        for member in root.iter(f"{ns}member"):
            if member.findtext(f"{ns}LoadBalancerArn") not in young:
                continue
            code = member.find(f"{ns}State/{ns}Code")
            if code is not None:
                code.text = "provisioning"
        text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return text

    # -- target groups let go late ----------------------------------------------------------

    def _releasing(self, account: Account, region: str, lb_arn: str) -> None:
        backend = _backend(account, region)
        until = self.clock() + self.release_seconds
        with account.lock:
            for arn, group in backend.target_groups.items():
                if lb_arn in (getattr(group, "load_balancer_arns", None) or []):
                    account.released[arn] = until

    def _held(self, account: Account, group_arn: str) -> Answer | None:
        with account.lock:
            until = account.released.get(group_arn)
        if until is None or self.clock() >= until:
            return None
        message = f"Target group '{group_arn}' is currently in use by a listener or a rule"
        return _swap(elb_error(400, "ResourceInUse", message))


def _swap(error: tuple[int, bytes]) -> tuple[int, list[tuple[str, str]], bytes]:
    status, body = error
    return status, _XML, body
