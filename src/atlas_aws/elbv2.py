"""The Elastic Load Balancing v2 client: the EC2 client's machinery (aiobotocore, the
``standard`` retry mode, throttling, pagination, redacted DEBUG records, errors mapped to
atlas's) on the ``elbv2`` service.

ELBv2's creates are idempotent by name: ``CreateLoadBalancer``, ``CreateTargetGroup`` and
``CreateListener`` sent again with the same settings answer with what the first call made,
and with other settings ``DuplicateLoadBalancerName`` (or ``DuplicateTargetGroupName``,
``DuplicateListener``). So botocore may resend them after an unknown outcome, unlike EC2's
untokened creates; a duplicate answer is what the handler adopts by its marks.
"""

from __future__ import annotations

from typing import Any

from atlas.exceptions import ConflictError, ProviderAPIError
from atlas_aws.client import JSON, Ec2

__all__ = ["CONFLICT_CODES", "Elbv2"]
#: ELBv2's answers that something is in the way of the change (HTTP 400 there).
CONFLICT_CODES = frozenset(
    {
        "DuplicateLoadBalancerName",
        "DuplicateTargetGroupName",
        "DuplicateListener",
        "ResourceInUse",
        "OperationNotPermitted",
    }
)


class Elbv2(Ec2):
    """One region's ELBv2 API for one credential (see :class:`~atlas_aws.client.Ec2`)."""

    def __repr__(self) -> str:
        return f"Elbv2(region={self.region!r})"

    service = "elbv2"
    #: ELBv2's creates are idempotent by name: botocore may resend any of them.
    not_repeatable: frozenset[str] = frozenset()

    async def call(self, operation: str, **params: Any) -> JSON:
        try:
            return await super().call(operation, **params)
        except ProviderAPIError as exc:
            raise _conflict(exc) from exc.__cause__

    async def pages(self, operation: str, key: str, **params: Any) -> list[JSON]:
        try:
            return await super().pages(operation, key, **params)
        except ProviderAPIError as exc:
            raise _conflict(exc) from exc.__cause__


def _conflict(exc: ProviderAPIError) -> ProviderAPIError:
    """``exc`` as a :class:`ConflictError` when ELBv2's code says so (the EC2 mapping sees a
    400), and with ELBv2 named in place of EC2."""
    url = exc.url.replace("ec2 ", "elbv2 ", 1)
    cls = ConflictError if exc.code in CONFLICT_CODES else type(exc)
    return cls(
        exc.message,
        status=exc.status,
        code=exc.code,
        request_id=exc.request_id,
        method=exc.method,
        url=url,
        total_wait=exc.total_wait,
    )
