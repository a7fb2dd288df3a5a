"""The fidelity layer's RDS part: what RDS does and moto's RDS does not.

- **Creates take time**: moto makes a DB instance ``available`` at once; here it shows
  ``creating`` (and no endpoint) for ``db_creating_seconds``, and RDS's refusal to modify an
  instance that is not available (``InvalidDBInstanceState``) holds meanwhile.
- **Deletes take time**: moto forgets a deleted instance at once; here it is listed as
  ``deleting`` for ``db_deleting_seconds``, its identifier is still taken
  (``DBInstanceAlreadyExists``), a second delete is refused, and so is the delete of its
  subnet group (``InvalidDBSubnetGroupStateFault``), as RDS refuses it while any instance,
  even one being deleted, is in the group.
- **Names are unique**: moto replaces a subnet group created twice; RDS answers
  ``DBSubnetGroupAlreadyExists``.

Throttling and the kit's faults are the layer's, for RDS as for EC2 (see :mod:`.layer`).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from atlas_aws.emulator.state import Account, DeletingDb

__all__ = ["RdsLayer", "rds_error"]

Answer = tuple[int, list[tuple[str, str]], bytes]
_XML = [("Content-Type", "text/xml")]


def rds_error(status: int, code: str, message: str) -> tuple[int, bytes]:
    """An RDS error answer (the Query protocol's ``ErrorResponse``)."""
    body = (
        '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, body.encode()


def _refuse(status: int, code: str, message: str) -> Answer:
    status, body = rds_error(status, code, message)
    return status, _XML, body


class RdsLayer:
    """The RDS rules, on the layer's clock and configuration."""

    def __init__(self, clock: Callable[[], float], creating: float, deleting: float) -> None:
        self.clock = clock
        self.creating = creating
        self.deleting = deleting

    def handle(
        self,
        account: Account,
        region: str,
        action: str,
        params: Mapping[str, str],
        call: Callable[[], Answer],
    ) -> Answer:
        """The answer to one RDS request; ``call`` passes it on to moto."""
        self._forget_old(account)
        ident = params.get("DBInstanceIdentifier", "").lower()
        refused = self._refusal(account, region, action, ident, params)
        if refused is not None:
            return refused
        status, headers, out = call()
        if status != 200:
            return status, headers, out
        return status, headers, self._as_rds_shows(account, region, action, ident, out)

    def _refusal(
        self, account: Account, region: str, action: str, ident: str, params: Mapping[str, str]
    ) -> Answer | None:
        """What RDS answers itself where moto would carry the request out."""
        key = f"{region}/{ident}"
        with account.lock:
            deleting = account.db_deleting.get(key)
        group = params.get("DBSubnetGroupName", "")
        if deleting is not None:
            return _while_deleting(action, ident, deleting)
        if action == "ModifyDBInstance" and key in self._young(account):
            message = f"Database instance {ident} is not in available state."
            return _refuse(400, "InvalidDBInstanceState", message)
        if action == "DeleteDBSubnetGroup":
            return self._group_in_use(account, region, group)
        if action == "CreateDBSubnetGroup" and _group_exists(account, region, group):
            message = f"DB Subnet Group '{group}' already exists"
            return _refuse(400, "DBSubnetGroupAlreadyExists", message)
        return None

    # -- what RDS shows ---------------------------------------------------------------------

    def _as_rds_shows(
        self, account: Account, region: str, action: str, ident: str, out: bytes
    ) -> bytes:
        now = self.clock()
        if action == "CreateDBInstance":
            with account.lock:
                account.db_created[f"{region}/{ident}"] = now
        if action not in ("CreateDBInstance", "DescribeDBInstances", "DeleteDBInstance"):
            return out
        root = ET.fromstring(out)  # noqa: S314 - moto's own answer, not untrusted input
        ns = _ns(root)
        ET.register_namespace("", ns[1:-1])
        young = self._young(account)
        for item in root.iter(f"{ns}DBInstance"):
            name = (item.findtext(f"{ns}DBInstanceIdentifier") or "").lower()
            if f"{region}/{name}" in young:
                _show(item, ns, "creating")
            if action == "DeleteDBInstance":
                _show(item, ns, "deleting")
                group = item.findtext(f"{ns}DBSubnetGroup/{ns}DBSubnetGroupName") or ""
                element = ET.tostring(item, encoding="unicode")
                with account.lock:
                    account.db_created.pop(f"{region}/{name}", None)
                    account.db_deleting[f"{region}/{name}"] = DeletingDb(now, element, group)
        if action == "DescribeDBInstances" and not ident and root.find(f".//{ns}Marker") is None:
            self._list_deleting(account, region, root, ns)
        text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return text

    @staticmethod
    def _list_deleting(account: Account, region: str, root: ET.Element, ns: str) -> None:
        listed = root.find(f".//{ns}DBInstances")
        if listed is None:
            return
        with account.lock:
            shown = [
                d.element for k, d in account.db_deleting.items() if k.startswith(region + "/")
            ]
        for element in shown:
            listed.append(ET.fromstring(element))  # noqa: S314 - saved from moto's answer

    def _young(self, account: Account) -> set[str]:
        now = self.clock()
        with account.lock:
            return {k for k, t in account.db_created.items() if now - t < self.creating}

    def _forget_old(self, account: Account) -> None:
        now = self.clock()
        with account.lock:
            for key in [k for k, d in account.db_deleting.items() if now - d.at >= self.deleting]:
                del account.db_deleting[key]

    def _group_in_use(self, account: Account, region: str, group: str) -> Answer | None:
        with account.lock:
            users = [
                k.split("/", 1)[1]
                for k, d in account.db_deleting.items()
                if k.startswith(region + "/") and d.subnet_group == group.lower()
            ]
        users += _moto_users(account, region, group)
        if not users:
            return None
        return _refuse(
            400,
            "InvalidDBSubnetGroupStateFault",
            f"Cannot delete the subnet group '{group}' because at least one database "
            f"instance: {users[0]} is still using it.",
        )


def _while_deleting(action: str, ident: str, deleting: DeletingDb) -> Answer | None:
    """RDS's answers about an instance it is deleting (moto has forgotten it)."""
    if action == "CreateDBInstance":
        return _refuse(400, "DBInstanceAlreadyExists", "DB instance already exists")
    if action == "DeleteDBInstance":
        return _refuse(400, "InvalidDBInstanceState", f"Instance {ident} is already being deleted.")
    if action == "DescribeDBInstances" and ident:
        return 200, _XML, _described([deleting.element], "DescribeDBInstances")
    return None


def _ns(root: ET.Element) -> str:
    return root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""


def _show(item: ET.Element, ns: str, status: str) -> None:
    found = item.find(f"{ns}DBInstanceStatus")
    if found is not None:
        found.text = status
    endpoint = item.find(f"{ns}Endpoint")
    if endpoint is not None and status == "creating":
        item.remove(endpoint)


def _described(elements: list[str], action: str) -> bytes:
    ns = "http://rds.amazonaws.com/doc/2014-10-31/"
    items = "".join(elements)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{action}Response xmlns="{ns}">'
        f"<{action}Result><DBInstances>{items}</DBInstances></{action}Result>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    ).encode()


def _backend(account: Account, region: str) -> Any:
    from moto.rds.models import rds_backends  # noqa: PLC0415

    return rds_backends[account.account_id][region]


def _group_exists(account: Account, region: str, group: str) -> bool:
    return group.lower() in _backend(account, region).subnet_groups


def _moto_users(account: Account, region: str, group: str) -> list[str]:
    databases = _backend(account, region).databases
    return [
        str(name)
        for name, db in databases.items()
        if getattr(getattr(db, "db_subnet_group", None), "name", None) == group.lower()
    ]
