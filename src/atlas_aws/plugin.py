"""The AWS plugin: hook implementations only.

Every atlas command loads this module, so it imports what an estimate needs (kinds, checks,
prices) and leaves the live provider, aiobotocore and the emulator to the calls that use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from atlas.cost.catalog import PriceCatalog
from atlas.plugins import hookimpl
from atlas.providers.declarations import CliCommand, ProviderInfo, ResourceKind, Sandbox
from atlas_aws.checks import check_spec
from atlas_aws.credentials import SECRET_KEY
from atlas_aws.prices import load_price_catalog
from atlas_aws.resources import KINDS

if TYPE_CHECKING:
    from atlas.portable.contract import PortableTranslator
    from atlas.providers.contract import ProviderConfig
    from atlas_aws.provider import AwsProvider


def _build_provider(config: ProviderConfig) -> AwsProvider:
    """:meth:`AwsProvider.from_config`, imported when a live provider is wanted."""
    from atlas_aws.provider import AwsProvider  # noqa: PLC0415

    return AwsProvider.from_config(config)


def _emulator_main(argv: Sequence[str]) -> int:
    """``atlas emulator --provider aws``: moto is imported when the command runs."""
    from atlas_aws.emulator.cli import main  # noqa: PLC0415

    return main(argv)


PROVIDER = ProviderInfo(
    name="aws",
    title="AWS",
    package="atlas-infra[aws]",
    check=check_spec,
    factory=_build_provider,
    credentials=SECRET_KEY,
    environment={
        "AWS_ACCESS_KEY_ID": "the access key id that goes with the secret access key",
        "AWS_SESSION_TOKEN": "the session token of temporary credentials",
        "AWS_PROFILE": "the profile of the shared files (~/.aws/credentials, ~/.aws/config) "
        "to take the credential from when the environment has none (default: default): "
        "static keys, an assume-role, SSO or credential_process profile",
        "AWS_SHARED_CREDENTIALS_FILE": "the shared credentials file (default "
        "$HOME/.aws/credentials)",
        "AWS_CONFIG_FILE": "the shared config file (default $HOME/.aws/config)",
        "HOME": "where the shared files (and the SSO token cache, ~/.aws/sso/cache) are looked for",
        "AWS_REGION": "the region STS is asked in for a role profile with no region "
        "(before AWS_DEFAULT_REGION; default us-east-1)",
        "AWS_DEFAULT_REGION": "the same, after AWS_REGION",
        "AWS_ENDPOINT_URL_STS": "where STS is, for role profiles (before AWS_ENDPOINT_URL)",
        "AWS_ENDPOINT_URL_SSO": "where the SSO portal is, for SSO profiles (before "
        "AWS_ENDPOINT_URL)",
        "AWS_ENDPOINT_URL_SSO_OIDC": "where SSO OIDC is, to renew an SSO token (before "
        "AWS_ENDPOINT_URL)",
        "AWS_ENDPOINT_URL": "where EC2 (and RDS, ELBv2, STS, SSO) are (default AWS itself): "
        "set it to talk to an emulator",
        "AWS_ENDPOINT_URL_EC2": "the same for EC2 alone (before AWS_ENDPOINT_URL)",
        "AWS_ENDPOINT_URL_RDS": "the same for RDS alone (before AWS_ENDPOINT_URL)",
        "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": "the same for ELBv2 (load balancers) "
        "alone (before AWS_ENDPOINT_URL)",
        "ATLAS_AWS_POLL_INTERVAL": "seconds between status polls (default 2)",
    },
    ready_timeouts={
        "instance": 900.0,
        "vpc": 120.0,
        "subnet": 120.0,
        "security_group": 120.0,
        # RDS takes minutes to make a DB instance available, sometimes most of an hour.
        "db_instance": 3600.0,
        "load_balancer": 900.0,
    },
    currency="USD",
    example={
        "name": "web-app",
        "provider": "aws",
        "region": "eu-west-1",
        "resources": [
            {
                "type": "instance",
                "name": "web",
                "specifications": {"instance_type": "t3.micro", "image": "ubuntu-24.04"},
            }
        ],
        "tags": {"env": "dev"},
    },
)


@hookimpl
def atlas_add_providers() -> Sequence[ProviderInfo]:
    return [PROVIDER]


@hookimpl
def atlas_add_resource_kinds() -> Sequence[ResourceKind]:
    return KINDS


@hookimpl
def atlas_add_price_catalogs() -> Sequence[PriceCatalog]:
    return [load_price_catalog()]


@hookimpl
def atlas_emulator(provider: str) -> CliCommand | None:
    if provider != "aws":
        return None
    return CliCommand("emulator", "serve an EC2 emulator (moto) on loopback", _emulator_main)


@hookimpl
def atlas_sandbox(provider: str) -> Sandbox | None:
    if provider != "aws":
        return None
    from atlas_aws.sandbox import make_sandbox  # noqa: PLC0415 - only when asked

    return make_sandbox()


@hookimpl
def atlas_portable_translator(provider: str) -> PortableTranslator | None:
    if provider != "aws":
        return None
    from atlas_aws.portable import AwsTranslator  # noqa: PLC0415 - only when asked

    return AwsTranslator()
