"""Managed database clusters: ``/v2/databases``.

There are no action objects: a cluster is ``creating`` until the create latency passes, then
``online``; a resize answers 202 with no body and holds the cluster in ``resizing``. The list
is the one collection without pagination, answering only ``{"databases": [...]}``.
"""

from __future__ import annotations

import attrs

from atlas_digitalocean.emulator import offerings, validate
from atlas_digitalocean.emulator.collection import Collection
from atlas_digitalocean.emulator.errors import ApiError
from atlas_digitalocean.emulator.exchange import JSON, Call, Reply, iso
from atlas_digitalocean.emulator.records import Database
from atlas_digitalocean.emulator.routing import Routes
from atlas_digitalocean.emulator.state import State, assign


@attrs.frozen
class _Engine:
    version: str
    port: int
    user: str
    database: str | None


ENGINES = {
    "pg": _Engine("17", 25060, "doadmin", "defaultdb"),
    "mysql": _Engine("8", 25060, "doadmin", "defaultdb"),
    "valkey": _Engine("8", 25061, "default", None),
    "mongodb": _Engine("7.0", 27017, "doadmin", "admin"),
    "kafka": _Engine("3.8", 25073, "doadmin", None),
    "opensearch": _Engine("2", 25060, "doadmin", None),
}
_UNSUPPORTED = {
    "redis": "Caching (redis) clusters can no longer be created; use valkey.",
    "advanced_pg": "the emulator does not implement advanced_pg clusters",
    "advanced_mysql": "the emulator does not implement advanced_mysql clusters",
}
# Node size -> default storage in MiB.
SIZES = {
    "db-s-1vcpu-1gb": 10 * 1024,
    "db-s-1vcpu-2gb": 25 * 1024,
    "db-s-2vcpu-4gb": 38 * 1024,
    "db-s-4vcpu-8gb": 115 * 1024,
    "db-s-6vcpu-16gb": 270 * 1024,
    "db-s-8vcpu-32gb": 580 * 1024,
    "db-s-16vcpu-64gb": 1012 * 1024,
}
# Standby nodes need at least 2 GB of RAM; the smallest plan is single-node only.
_SINGLE_NODE_SIZES = frozenset({"db-s-1vcpu-1gb"})
MAX_NODES = 3

ROUTES = Routes()


def _host(database: Database, prefix: str = "") -> str:
    return f"{prefix}{database.name}-do-user-{database.id[:8]}-0.db.ondigitalocean.com"


def _uri(database: Database, engine: _Engine, host: str) -> str:
    auth = f"{engine.user}:{database.password}@{host}"
    forms = {
        "pg": f"postgresql://{auth}:{engine.port}/defaultdb?sslmode=require",
        "mysql": f"mysql://{auth}:{engine.port}/defaultdb?ssl-mode=REQUIRED",
        "valkey": f"rediss://{auth}:{engine.port}",
        "mongodb": f"mongodb+srv://{auth}/admin?tls=true&authSource=admin",
        "opensearch": f"https://{auth}:{engine.port}",
    }
    return forms.get(database.engine, "")


def _connection(database: Database, prefix: str = "") -> JSON:
    engine = ENGINES[database.engine]
    host = _host(database, prefix)
    return {
        "uri": _uri(database, engine, host),
        "database": engine.database or "",
        "host": host,
        "port": engine.port,
        "user": engine.user,
        "password": database.password,
        "ssl": True,
    }


def database_json(_state: State, database: Database) -> JSON:
    engine = ENGINES[database.engine]
    rendered: JSON = {
        "id": database.id,
        "name": database.name,
        "engine": database.engine,
        "version": database.version,
        "num_nodes": database.num_nodes,
        "size": database.size,
        "region": database.region,
        "status": database.status,
        "created_at": iso(database.created_at),
        "private_network_uuid": database.private_network_uuid,
        "tags": list(database.tags),
        "db_names": [engine.database] if engine.database else None,
        "connection": _connection(database),
        "private_connection": _connection(database, "private-"),
        "users": [{"name": engine.user, "role": "primary", "password": database.password}],
        "maintenance_window": {"day": "sunday", "hour": "03:00:00", "pending": False},
        "project_id": database.project_id,
        "rules": [],
        "storage_size_mib": database.storage_size_mib,
    }
    if database.num_nodes > 1:
        rendered["standby_connection"] = _connection(database, "replica-")
        rendered["standby_private_connection"] = _connection(database, "private-replica-")
    return rendered


def _engine(body: JSON) -> str:
    name = validate.string(body, "engine")
    if name in _UNSUPPORTED:
        raise ApiError.unprocessable(_UNSUPPORTED[name])
    if name not in ENGINES:
        raise ApiError.unprocessable(f"engine must be one of {', '.join(sorted(ENGINES))}")
    return name


def _layout(body: JSON) -> tuple[str, int, int]:
    """``(size, num_nodes, storage_size_mib)``, checked against each other."""
    size = validate.string(body, "size")
    if size not in SIZES:
        raise ApiError.unprocessable(f"size {size!r} is not a database node size")
    nodes = validate.integer(body, "num_nodes", minimum=1, maximum=MAX_NODES)
    if nodes > 1 and size in _SINGLE_NODE_SIZES:
        raise ApiError.unprocessable(f"size {size} does not support standby nodes")
    # The published schema: "Additional storage added to the cluster, in MiB", beyond the base
    # amount that comes with the size.
    storage = validate.integer(body, "storage_size_mib", 0, minimum=0)
    return size, nodes, storage


def _network(state: State, body: JSON, region: str) -> str:
    key = "private_network_uuid"
    return state.chosen_vpc(key, validate.string(body, key, ""), region).id


@ROUTES("POST", "/v2/databases")
def create_database(state: State, call: Call) -> Reply:
    body = call.body()
    name = validate.string(body, "name", max_length=63)
    engine = _engine(body)
    size, nodes, storage = _layout(body)
    region = offerings.open_region(body)
    tags = validate.tag_names(body)
    database = Database(
        id=state.new_uuid(),
        name=name,
        engine=engine,
        version=validate.string(body, "version", ENGINES[engine].version),
        num_nodes=nodes,
        size=size,
        region=region,
        created_at=state.now(),
        private_network_uuid=_network(state, body, region),
        tags=tags,
        password=state.secret(),
        project_id=validate.string(body, "project_id", state.project_uuid),
        storage_size_mib=storage,
    )
    state.ensure_tags(tags)
    state.after(state.config.latencies.database_create, assign(database, status="online"))
    return DATABASES.made(state, call, database, 201)


def _select(state: State, call: Call) -> list[Database]:
    tag = call.query.get("tag_name")
    return [d for d in state.databases.values() if tag is None or tag in d.tags]


DATABASES = Collection(
    "database", "databases", "database_cluster_uuid", lambda state: state.databases, str,
    database_json, select=_select, paged=False,
)  # fmt: skip
DATABASES.serve(ROUTES)


@ROUTES("PUT", "/v2/databases/{database_cluster_uuid}/resize")
def resize_database(state: State, call: Call) -> Reply:
    database = DATABASES.find(state, call)
    size, nodes, storage = _layout(call.body())
    if database.status != "online":
        raise ApiError.unprocessable(f"the cluster is {database.status}; resize it once online")
    database.status = "resizing"
    grown = max(storage, database.storage_size_mib)
    finish = assign(database, size=size, num_nodes=nodes, storage_size_mib=grown, status="online")
    state.after(state.config.latencies.database_resize, finish)
    return Reply(202)
