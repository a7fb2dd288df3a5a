"""DigitalOcean's endpoints, one thin method each, over the shared client.

Paths and envelopes live here and nowhere else; how the API is spoken (token, limits, pages,
error bodies) lives in :mod:`atlas_digitalocean.http`, what the bodies mean in ``ops/``. Each
method is one HTTP call (a list is one call per page of 200).
"""

from __future__ import annotations

from typing import Any

import httpx

from atlas.credentials import Secret
from atlas.http import ApiClient, BearerAuth, Clock, Priority, RetryPolicy, Sleep
from atlas_digitalocean import http

__all__ = ["JSON", "DigitalOceanAPI"]

JSON = dict[str, Any]


class DigitalOceanAPI:
    """DigitalOcean API v2 for the six resource kinds and what they need."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    @classmethod
    def connect(
        cls,
        base_url: str,
        token: Secret,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> DigitalOceanAPI:
        """The API at ``base_url`` with ``token``, over a client given DigitalOcean's auth,
        limits, pagination and error bodies (:mod:`atlas_digitalocean.http`).

        ``sleep`` and ``clock`` come together (fake time, in tests and the sandbox); without them
        the client shares the process-wide rate limiter of ``token``.
        """
        client = ApiClient(
            base_url,
            auth=BearerAuth(token),
            rate_limits=http.RATE_LIMITS,
            paginator=http.PAGINATION,
            errors=http.read_error,
            provider="digitalocean",
            routes=http.ROUTES,
            retry=retry,
            transport=transport,
            sleep=sleep,
            clock=clock,
        )
        return cls(client)

    async def _list(self, path: str, key: str, **params: str) -> list[JSON]:
        return [item async for item in self.client.paginate(path, key, params or None)]

    # -- droplets ---------------------------------------------------------------------------

    async def create_droplets(self, body: JSON) -> list[JSON]:
        """One droplet (``name``) or up to ten (``names``); the envelope differs."""
        out = await self.client.post_json("/v2/droplets", body)
        return list(out["droplets"]) if "droplets" in out else [out["droplet"]]

    async def list_droplets(self, *, tag: str | None = None) -> list[JSON]:
        return await self._list("/v2/droplets", "droplets", **({"tag_name": tag} if tag else {}))

    async def count_droplets(self) -> int:
        """How many droplets the account has (one call: the list's ``meta.total``)."""
        out = await self.client.get_json("/v2/droplets", params={"per_page": 1})
        return int((out.get("meta") or {}).get("total") or len(out.get("droplets") or []))

    async def get_droplet(self, droplet_id: str) -> JSON:
        return dict((await self.client.get_json(f"/v2/droplets/{droplet_id}"))["droplet"])

    async def delete_droplet(self, droplet_id: str) -> None:
        await self.client.delete(f"/v2/droplets/{droplet_id}", missing_ok=True)

    async def delete_droplets_by_tag(self, tag: str) -> None:
        await self.client.delete("/v2/droplets", params={"tag_name": tag}, missing_ok=True)

    async def droplet_action(self, droplet_id: str, body: JSON) -> JSON:
        out = await self.client.post_json(f"/v2/droplets/{droplet_id}/actions", body)
        return dict(out["action"])

    # -- actions and tags -------------------------------------------------------------------

    async def get_action(self, action_id: str) -> JSON:
        out = await self.client.get_json(f"/v2/actions/{action_id}", priority=Priority.POLL)
        return dict(out["action"])

    async def tag_resources(self, tag: str, resources: list[JSON]) -> None:
        await self.client.post_json(f"/v2/tags/{tag}/resources", {"resources": resources})

    async def untag_resources(self, tag: str, resources: list[JSON]) -> None:
        await self.client.request(
            "DELETE", f"/v2/tags/{tag}/resources", json={"resources": resources}
        )

    async def create_tag(self, tag: str) -> None:
        await self.client.post_json("/v2/tags", {"name": tag})

    # -- volumes ----------------------------------------------------------------------------

    async def create_volume(self, body: JSON) -> JSON:
        return dict((await self.client.post_json("/v2/volumes", body))["volume"])

    async def list_volumes(
        self, *, name: str | None = None, region: str | None = None
    ) -> list[JSON]:
        params = {k: v for k, v in (("name", name), ("region", region)) if v}
        return await self._list("/v2/volumes", "volumes", **params)

    async def get_volume(self, volume_id: str) -> JSON:
        return dict((await self.client.get_json(f"/v2/volumes/{volume_id}"))["volume"])

    async def delete_volume(self, volume_id: str) -> None:
        await self.client.delete(f"/v2/volumes/{volume_id}", missing_ok=True)

    async def volume_action(self, volume_id: str, body: JSON) -> JSON:
        out = await self.client.post_json(f"/v2/volumes/{volume_id}/actions", body)
        return dict(out["action"])

    async def list_volume_actions(self, volume_id: str) -> list[JSON]:
        """The volume's actions; volume actions carry no resource id, so this is the only
        way to find the one a doubtful request started."""
        return await self._list(f"/v2/volumes/{volume_id}/actions", "actions")

    # -- databases --------------------------------------------------------------------------

    async def create_database(self, body: JSON) -> JSON:
        return dict((await self.client.post_json("/v2/databases", body))["database"])

    async def list_databases(self, *, tag: str | None = None) -> list[JSON]:
        params = {"tag_name": tag} if tag else None
        out = await self.client.get_json("/v2/databases", params=params)
        return list(out.get("databases") or [])  # no pagination on this endpoint

    async def get_database(self, database_id: str) -> JSON:
        return dict((await self.client.get_json(f"/v2/databases/{database_id}"))["database"])

    async def resize_database(self, database_id: str, body: JSON) -> None:
        await self.client.request("PUT", f"/v2/databases/{database_id}/resize", json=body)

    async def delete_database(self, database_id: str) -> None:
        await self.client.delete(f"/v2/databases/{database_id}", missing_ok=True)

    # -- load balancers ---------------------------------------------------------------------

    async def create_load_balancer(self, body: JSON) -> JSON:
        out = await self.client.post_json("/v2/load_balancers", body)
        return dict(out["load_balancer"])

    async def list_load_balancers(self) -> list[JSON]:
        return await self._list("/v2/load_balancers", "load_balancers")

    async def get_load_balancer(self, lb_id: str) -> JSON:
        out = await self.client.get_json(f"/v2/load_balancers/{lb_id}")
        return dict(out["load_balancer"])

    async def update_load_balancer(self, lb_id: str, body: JSON) -> JSON:
        out = await self.client.put_json(f"/v2/load_balancers/{lb_id}", body)
        return dict(out["load_balancer"])

    async def delete_load_balancer(self, lb_id: str) -> None:
        await self.client.delete(f"/v2/load_balancers/{lb_id}", missing_ok=True)

    # -- firewalls --------------------------------------------------------------------------

    async def create_firewall(self, body: JSON) -> JSON:
        return dict((await self.client.post_json("/v2/firewalls", body))["firewall"])

    async def list_firewalls(self) -> list[JSON]:
        return await self._list("/v2/firewalls", "firewalls")

    async def get_firewall(self, firewall_id: str) -> JSON:
        return dict((await self.client.get_json(f"/v2/firewalls/{firewall_id}"))["firewall"])

    async def update_firewall(self, firewall_id: str, body: JSON) -> JSON:
        out = await self.client.put_json(f"/v2/firewalls/{firewall_id}", body)
        return dict(out["firewall"])

    async def delete_firewall(self, firewall_id: str) -> None:
        await self.client.delete(f"/v2/firewalls/{firewall_id}", missing_ok=True)

    # -- VPCs -------------------------------------------------------------------------------

    async def create_vpc(self, body: JSON) -> JSON:
        return dict((await self.client.post_json("/v2/vpcs", body))["vpc"])

    async def list_vpcs(self) -> list[JSON]:
        return await self._list("/v2/vpcs", "vpcs")

    async def get_vpc(self, vpc_id: str) -> JSON:
        return dict((await self.client.get_json(f"/v2/vpcs/{vpc_id}"))["vpc"])

    async def update_vpc(self, vpc_id: str, body: JSON) -> JSON:
        return dict((await self.client.patch_json(f"/v2/vpcs/{vpc_id}", body))["vpc"])

    async def delete_vpc(self, vpc_id: str) -> None:
        await self.client.delete(f"/v2/vpcs/{vpc_id}", missing_ok=True)

    async def vpc_members(self, vpc_id: str) -> list[JSON]:
        return await self._list(f"/v2/vpcs/{vpc_id}/members", "members")

    # -- account and catalog ----------------------------------------------------------------

    async def account(self) -> JSON:
        return dict((await self.client.get_json("/v2/account"))["account"])

    async def balance(self) -> JSON:
        """``GET /v2/customers/my/balance``: this month's usage so far (token scope
        ``billing:read``)."""
        return dict(await self.client.get_json("/v2/customers/my/balance"))

    async def invoices(self) -> JSON:
        """``GET /v2/customers/my/invoices``: issued invoices (every page) and the preview of
        the month being billed."""
        path = "/v2/customers/my/invoices"
        first = dict(await self.client.get_json(path, params={"per_page": 200}))
        invoices = list(first.get("invoices") or [])
        if (first.get("links") or {}).get("pages", {}).get("next"):
            invoices = await self._list(path, "invoices")
        return {"invoices": invoices, "invoice_preview": first.get("invoice_preview")}

    async def list_sizes(self) -> list[JSON]:
        return await self._list("/v2/sizes", "sizes")

    async def list_regions(self) -> list[JSON]:
        return await self._list("/v2/regions", "regions")
