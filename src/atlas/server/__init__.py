"""The HTTP API: a thin ASGI adapter over :class:`atlas.AsyncAtlas` (extra ``server``).

    from atlas.server import Settings, create_app
    app = create_app(Settings(store=open_store(), registry=default_registry()))

Routes, authentication, workspaces and the OpenAPI document live here; every decision about
infrastructure is the library's. ``atlas serve`` runs it on uvicorn.
"""

from __future__ import annotations

from atlas.server.app import create_app
from atlas.server.auth import (
    ApiKey,
    ApiKeyring,
    AuthConfig,
    Principal,
    hash_api_key,
    key_file_entry,
    new_api_key,
)
from atlas.server.monitoring import Monitoring, WorkspaceCost
from atlas.server.openapi import build_document
from atlas.server.settings import Settings, settings_from_env

__all__ = [
    "ApiKey",
    "ApiKeyring",
    "AuthConfig",
    "Monitoring",
    "Principal",
    "Settings",
    "WorkspaceCost",
    "build_document",
    "create_app",
    "hash_api_key",
    "key_file_entry",
    "new_api_key",
    "settings_from_env",
]
