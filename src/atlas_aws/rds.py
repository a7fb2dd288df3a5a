"""The RDS client: the EC2 client's machinery (aiobotocore, standard retry mode, throttling
retried, paginators, errors mapped at this boundary, credentials kept out of botocore's
records) pointed at RDS.

Nothing RDS creates for atlas needs the no-resend rule of :data:`atlas_aws.client.NOT_REPEATABLE`:
a DB instance and its subnet group are created by a unique name, so a resend after a lost
answer meets ``DBInstanceAlreadyExists`` (or ``DBSubnetGroupAlreadyExists``), and the handler
adopts what holds the name when it carries the resource's marks.
"""

from __future__ import annotations

from atlas_aws.client import Ec2

__all__ = ["ENDPOINT_ENV", "Rds"]

#: Where RDS is when not at AWS (an emulator): the RDS-only form first.
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL")


class Rds(Ec2):
    """One region's RDS API for one credential (built with :meth:`open`)."""

    service = "rds"
    not_repeatable: frozenset[str] = frozenset()
