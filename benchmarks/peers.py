"""The same droplet workload written with the libraries people use today.

Each function creates ``n`` identical droplets, waits until every one is active, then deletes
them, the way that library's documentation shows, and returns wall-clock marks. Sequential, as
the examples are. Where a library has a waiter, it is used with its defaults:

- apache-libcloud: ``create_node`` per droplet (no batch form), ``wait_until_running`` (one
  paginated ``list_nodes`` every ``wait_period`` = 5 s by default), ``destroy_node`` each.
- pydo (the official client): ``droplets.create`` with ``name`` (one per call) or ``names``
  (ten per call); pydo has no waiter, so ``droplets.get`` for each droplet not yet active,
  rounds 1 s apart; ``droplets.destroy`` each.
- python-digitalocean: ``Droplet.create()`` per droplet, then its create ``Action``'s own
  ``wait()`` (one ``load()`` a second), droplet after droplet; ``Droplet.destroy()`` each.

Pointing them at the emulator (found in their installed source):

- libcloud's DigitalOcean driver accepts ``secure``/``host``/``port`` in its signature but
  drops them before the base driver sees them, so they are silently ignored (the requests would
  go to api.digitalocean.com). They are set on ``driver.connection``, which is then reconnected
  (the driver's constructor already connected it to the real API's address).
- pydo takes ``endpoint=``; azure-core's bearer policy refuses plain ``http://``, so the token
  goes in through azure-core's ``AzureKeyCredentialPolicy`` (``Authorization: Bearer ...``).
- python-digitalocean takes ``end_point=`` (or ``$DIGITALOCEAN_END_POINT``).

Rate limits: pydo's azure-core pipeline retries a 429 itself, honouring ``Retry-After``.
libcloud raises ``RateLimitReachedError`` (with ``retry_after``) unless retries are switched on
globally, and python-digitalocean raises ``DataReadError`` without the headers; for those two,
:func:`patiently` does what their users must write: sleep (``Retry-After`` when the library
exposes it, else 1, 2, 4 ... 30 s) and call again. Lookups of sizes, images and regions are
skipped (the objects are built directly), which saves the peers calls atlas does make.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

REGION = "nyc3"
SIZE = "s-1vcpu-1gb"
IMAGE = "ubuntu-24-04-x64"
BATCH = 10
POLL = 1.0

Marks = dict[str, Any]


def patiently(call: Callable[[], T], retry_after: Callable[[BaseException], float | None]) -> T:
    """``call()``, slept on and repeated while it fails for the rate limit.

    ``retry_after`` returns the advised wait for a rate-limit error (0 when none is given) and
    ``None`` for any other error, which is raised.
    """
    backoff = 1.0
    while True:
        try:
            return call()
        except Exception as exc:
            advised = retry_after(exc)
            if advised is None:
                raise
            if advised > 0:
                time.sleep(advised)
            else:
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def _names(n: int) -> list[str]:
    return [f"bench-{i:04d}" for i in range(1, n + 1)]


# -- apache-libcloud ------------------------------------------------------------------------------


def libcloud(url: str, token: str, n: int) -> Marks:
    from libcloud.common.exceptions import RateLimitReachedError  # noqa: PLC0415
    from libcloud.compute.base import NodeImage, NodeLocation, NodeSize  # noqa: PLC0415
    from libcloud.compute.providers import get_driver  # noqa: PLC0415
    from libcloud.compute.types import Provider  # noqa: PLC0415

    def advised(exc: BaseException) -> float | None:
        return float(exc.retry_after or 0) if isinstance(exc, RateLimitReachedError) else None

    driver = get_driver(Provider.DIGITAL_OCEAN)(token)
    where = urlsplit(url)
    # The driver's own secure/host/port arguments are dropped by its __init__ (see above).
    driver.connection.host = where.hostname
    driver.connection.port = where.port
    driver.connection.secure = False
    driver.connection.connect()  # the driver connected to api.digitalocean.com on creation
    size = NodeSize(SIZE, SIZE, 1024, 25, None, 6.0, driver)
    image = NodeImage(IMAGE, IMAGE, driver)
    location = NodeLocation(REGION, REGION, "", driver)

    start = time.time()
    nodes = [
        patiently(lambda name=name: driver.create_node(name, size, image, location), advised)
        for name in _names(n)
    ]
    running = patiently(lambda: driver.wait_until_running(nodes), advised)
    active = time.time()
    assert len(running) == n
    for node in nodes:
        patiently(lambda node=node: driver.destroy_node(node), advised)
    return {"start": start, "active": active, "end": time.time()}


# -- pydo -----------------------------------------------------------------------------------------


def _pydo_client(url: str, token: str) -> Any:
    from azure.core.credentials import AzureKeyCredential  # noqa: PLC0415
    from azure.core.pipeline.policies import AzureKeyCredentialPolicy  # noqa: PLC0415
    from pydo import Client  # noqa: PLC0415

    # azure-core's bearer policy insists on https; this sends the same header over http.
    auth = AzureKeyCredentialPolicy(AzureKeyCredential(token), "Authorization", prefix="Bearer")
    return Client(token, endpoint=url, authentication_policy=auth)


def _pydo_advised(exc: BaseException) -> float | None:
    from azure.core.exceptions import HttpResponseError  # noqa: PLC0415

    if isinstance(exc, HttpResponseError) and exc.status_code == 429:
        headers = exc.response.headers if exc.response is not None else {}
        return float(headers.get("retry-after") or 0)
    return None


def pydo(url: str, token: str, n: int, *, batch: bool) -> Marks:
    client = _pydo_client(url, token)
    body = {"region": REGION, "size": SIZE, "image": IMAGE}
    names = _names(n)
    start = time.time()
    ids: list[int] = []
    if batch:
        for i in range(0, n, BATCH):
            chunk = {**body, "names": names[i : i + BATCH]}
            made = patiently(lambda chunk=chunk: client.droplets.create(body=chunk), _pydo_advised)
            ids += [d["id"] for d in made["droplets"]]
    else:
        for name in names:
            one = {**body, "name": name}
            made = patiently(lambda one=one: client.droplets.create(body=one), _pydo_advised)
            ids.append(made["droplet"]["id"])
    pending = list(ids)
    while pending:
        still = []
        for droplet_id in pending:
            got = patiently(lambda i=droplet_id: client.droplets.get(i), _pydo_advised)
            if got["droplet"]["status"] != "active":
                still.append(droplet_id)
        pending = still
        if pending:
            time.sleep(POLL)
    active = time.time()
    for droplet_id in ids:
        patiently(lambda i=droplet_id: client.droplets.destroy(i), _pydo_advised)
    return {"start": start, "active": active, "end": time.time()}


# -- python-digitalocean ---------------------------------------------------------------------


def python_digitalocean(url: str, token: str, n: int) -> Marks:
    import digitalocean  # noqa: PLC0415

    end_point = url.rstrip("/") + "/v2/"

    def advised(exc: BaseException) -> float | None:
        # The library raises DataReadError(message) and keeps no headers: no Retry-After.
        limited = isinstance(exc, digitalocean.DataReadError) and "rate limit" in str(exc).lower()
        return 0.0 if limited else None

    start = time.time()
    droplets = []
    for name in _names(n):
        droplet = digitalocean.Droplet(
            token=token, end_point=end_point, name=name, region=REGION, image=IMAGE, size_slug=SIZE
        )
        patiently(droplet.create, advised)
        droplets.append(droplet)
    for droplet in droplets:
        action = digitalocean.Action(
            id=droplet.action_ids[0], droplet_id=droplet.id, token=token, end_point=end_point
        )
        patiently(action.load, advised)
        while action.status == "in-progress":
            patiently(action.wait, advised)
        assert action.status == "completed", action.status
    active = time.time()
    for droplet in droplets:
        patiently(droplet.destroy, advised)
    return {"start": start, "active": active, "end": time.time()}


PEERS: dict[str, Callable[[str, str, int], Marks]] = {
    "libcloud": libcloud,
    "pydo": lambda url, token, n: pydo(url, token, n, batch=False),
    "pydo-names": lambda url, token, n: pydo(url, token, n, batch=True),
    "python-digitalocean": python_digitalocean,
}
