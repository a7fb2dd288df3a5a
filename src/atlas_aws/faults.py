"""The conformance kit's neutral faults (:class:`atlas.providers.Faults`) on the emulator.

Faults of a create are armed on the kind's create action (``RunInstances`` for
``instance``); changes and deletes "outside atlas" are made with boto3 through the emulator,
as someone at the console would make them, in the same account, marked so that the layer
neither counts nor faults them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import CREATE_ACTIONS, AwsEmulator
from atlas_aws.emulator.state import Account, Fault, FaultKind

__all__ = ["OUTSIDE_TAG", "EmulatorFaults", "outside_client"]

#: The tag value a change outside puts on a VPC.
OUTSIDE_TAG = "changed-outside"


def outside_client(emulator: AwsEmulator, keys: AwsKeys, region: str, service: str = "ec2") -> Any:
    """A boto3 client (EC2's, or ``service``'s) in the sandbox's account whose calls the layer
    leaves alone."""
    import boto3  # noqa: PLC0415 - only for changes made by hand

    client = boto3.client(
        service,
        region_name=region,
        endpoint_url=emulator.url,
        aws_access_key_id=keys.access_key_id.reveal(),
        aws_secret_access_key=keys.secret_access_key.reveal(),
    )

    def mark(request: Any, **_: Any) -> None:
        request.headers["X-Atlas-Emulator"] = "outside"

    client.meta.events.register("before-sign", mark)
    return client


class EmulatorFaults:
    """:class:`atlas.providers.Faults` for one account of an :class:`AwsEmulator`."""

    def __init__(self, emulator: AwsEmulator, account: Account, keys: AwsKeys, region: str) -> None:
        self._account = account
        self._client = outside_client(emulator, keys, region)
        self._rds = outside_client(emulator, keys, region, "rds")
        self._elb = outside_client(emulator, keys, region, "elbv2")

    # -- faults of the calls to come --------------------------------------------------------

    def _arm(self, kind: FaultKind, action: str | None, times: int) -> None:
        with self._account.lock:
            self._account.faults.append(Fault(kind, action, times))

    def fail_after_apply(self, kind: str, *, times: int = 1) -> None:
        self._arm(FaultKind.ERROR_AFTER, _action(kind), times)

    def drop_after_apply(self, kind: str, *, times: int = 1) -> None:
        self._arm(FaultKind.DROP_AFTER, _action(kind), times)

    def throttle(self, *, times: int = 1, retry_after: float = 0.0) -> None:
        # EC2 advises no wait: clients back off on their own (botocore's standard mode).
        del retry_after
        self._arm(FaultKind.THROTTLE, None, times)

    def armed(self) -> int:
        return self._account.armed()

    # -- edits outside atlas ----------------------------------------------------------------

    def delete_outside(self, kind: str, object_id: str) -> None:
        ec2 = self._client
        calls: dict[str, Callable[[], object]] = {
            "instance": lambda: ec2.terminate_instances(InstanceIds=[object_id]),
            "vpc": lambda: ec2.delete_vpc(VpcId=object_id),
            "subnet": lambda: ec2.delete_subnet(SubnetId=object_id),
            "security_group": lambda: ec2.delete_security_group(GroupId=object_id),
            "volume": lambda: self._delete_volume(object_id),
            # Its subnet group stays, as it would after a delete at the console.
            "db_instance": lambda: self._rds.delete_db_instance(
                DBInstanceIdentifier=object_id, SkipFinalSnapshot=True
            ),
            "load_balancer": lambda: self._elb.delete_load_balancer(LoadBalancerArn=object_id),
        }
        _action(kind)
        calls[kind]()

    def change_outside(self, kind: str, object_id: str) -> None:
        """Instances change type, volumes grow, subnets change their public-address setting,
        security groups gain a rule, DB instances change class, load balancers lose a
        listener, VPCs get another value for
        the spec's tag."""
        ec2 = self._client
        if kind == "instance":
            [reservation] = ec2.describe_instances(InstanceIds=[object_id])["Reservations"]
            now = reservation["Instances"][0]["InstanceType"]
            other = "t3.small" if now != "t3.small" else "t3.medium"
            ec2.stop_instances(InstanceIds=[object_id])
            ec2.modify_instance_attribute(InstanceId=object_id, InstanceType={"Value": other})
            ec2.start_instances(InstanceIds=[object_id])
        elif kind == "subnet":
            [subnet] = ec2.describe_subnets(SubnetIds=[object_id])["Subnets"]
            flipped = not subnet.get("MapPublicIpOnLaunch")
            ec2.modify_subnet_attribute(SubnetId=object_id, MapPublicIpOnLaunch={"Value": flipped})
        elif kind == "volume":
            [volume] = ec2.describe_volumes(VolumeIds=[object_id])["Volumes"]
            ec2.modify_volume(VolumeId=object_id, Size=int(volume["Size"]) + 10)
        elif kind == "db_instance":
            [db] = self._rds.describe_db_instances(DBInstanceIdentifier=object_id)["DBInstances"]
            other = "db.t3.small" if db["DBInstanceClass"] != "db.t3.small" else "db.t3.medium"
            self._rds.modify_db_instance(
                DBInstanceIdentifier=object_id, DBInstanceClass=other, ApplyImmediately=True
            )
        elif kind == "load_balancer":
            listeners = self._elb.describe_listeners(LoadBalancerArn=object_id)["Listeners"]
            self._elb.delete_listener(ListenerArn=listeners[0]["ListenerArn"])
        elif kind == "security_group":
            rule = {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 8443}
            rule["IpRanges"] = [{"CidrIp": "0.0.0.0/0"}]
            ec2.authorize_security_group_ingress(GroupId=object_id, IpPermissions=[rule])
        else:
            _action(kind)
            ec2.create_tags(Resources=[object_id], Tags=[{"Key": "suite", "Value": OUTSIDE_TAG}])

    def _delete_volume(self, object_id: str) -> None:
        """Detached first, as EC2 deletes no attached volume."""
        ec2 = self._client
        [volume] = ec2.describe_volumes(VolumeIds=[object_id])["Volumes"]
        for attachment in volume.get("Attachments") or []:
            ec2.detach_volume(VolumeId=object_id, InstanceId=attachment["InstanceId"])
        ec2.delete_volume(VolumeId=object_id)


def _action(kind: str) -> str:
    if kind not in CREATE_ACTIONS:
        raise ValueError(f"AWS has no kind {kind!r}; it has {', '.join(CREATE_ACTIONS)}")
    return CREATE_ACTIONS[kind]
