"""Where the DigitalOcean API token may come from."""

from __future__ import annotations

from atlas.credentials import CredentialSpec

__all__ = ["TOKEN", "TOKEN_ENV_NAMES", "digitalocean_token_chain"]

#: Tried in this order, after an explicit token and before the Context Manager.
TOKEN_ENV_NAMES = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_API_TOKEN")

#: Explicit, then :data:`TOKEN_ENV_NAMES`, then the Context Manager key
#: ``digitalocean_api_token``.
TOKEN = CredentialSpec("DigitalOcean API token", TOKEN_ENV_NAMES, "digitalocean_api_token")

#: The chain for a DigitalOcean API token (see :meth:`CredentialSpec.chain`).
digitalocean_token_chain = TOKEN.chain
