"""AwsProvider: the live side of the plugin, one handler per kind on the core's machinery
(:class:`atlas.providers.HandlerProvider`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from atlas.exceptions import PluginError
from atlas.model.infrastructure import ResourceSpec
from atlas.providers import FoundResource, HandlerProvider, KindHandler, ProviderConfig, Timing
from atlas_aws import imports
from atlas_aws.client import DEFAULT_MAX_ATTEMPTS, Ec2
from atlas_aws.credentials import SECRET_KEY, AwsCredentialChain, AwsKeys
from atlas_aws.ops import ALL_OPS, Ec2Handler, Regions
from atlas_aws.prices import load_offerings
from atlas_aws.rds import ENDPOINT_ENV as RDS_ENDPOINT_ENV
from atlas_aws.rds import Rds

__all__ = ["ENDPOINT_ENV", "POLL_INTERVAL_ENV", "AwsProvider"]

#: Points atlas at another EC2-compatible endpoint (an emulator); the EC2-only form first.
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL")
#: The same for ELBv2 (load balancers).
ELBV2_ENDPOINT_ENV = ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "AWS_ENDPOINT_URL")
#: Seconds between status polls (default 2).
POLL_INTERVAL_ENV = "ATLAS_AWS_POLL_INTERVAL"
DEFAULT_POLL_INTERVAL = 2.0


class AwsProvider(HandlerProvider):
    """An AWS account, in every region the spec asks for.

    :param keys: a key pair; when omitted, the chain is tried (the environment, the profile
        of the shared files, then the Context Manager) the first time EC2 is needed.
    :param credentials: the core's chain for the secret key (from the plugin's declaration).
    :param profile: a profile of the shared files to take the credential from, before the
        environment's pair and instead of ``$AWS_PROFILE`` (the AWS CLI's ``--profile``).
    :param endpoint_url: EC2's address; default ``$AWS_ENDPOINT_URL_EC2``,
        ``$AWS_ENDPOINT_URL`` or AWS itself.
    :param timing: polling and timing; tests make it fast.
    :param max_attempts: attempts per call in botocore's standard retry mode.
    """

    name = "aws"

    def __init__(
        self,
        keys: AwsKeys | None = None,
        *,
        credentials: AwsCredentialChain | None = None,
        endpoint_url: str | None = None,
        timing: Timing | None = None,
        env: Mapping[str, str] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        profile: str | None = None,
    ) -> None:
        self._env = os.environ if env is None else env
        self._chain = credentials or AwsCredentialChain(
            SECRET_KEY.chain(env=self._env), self._env, keys, profile=profile
        )
        self.endpoint_url = endpoint_url or next(
            (self._env[n] for n in ENDPOINT_ENV if self._env.get(n)), None
        )
        #: RDS's and ELBv2's addresses: ``endpoint_url`` when given, else the service's own
        #: variable (``$AWS_ENDPOINT_URL_RDS``, ...), ``$AWS_ENDPOINT_URL`` or AWS itself.
        self.rds_endpoint_url = endpoint_url or next(
            (self._env[n] for n in RDS_ENDPOINT_ENV if self._env.get(n)), None
        )
        self._elbv2_url = endpoint_url or next(
            (self._env[n] for n in ELBV2_ENDPOINT_ENV if self._env.get(n)), None
        )
        self._max_attempts = max_attempts
        super().__init__(timing or Timing(poll_interval=self._poll_interval()))
        self._regions: Regions | None = None

    @classmethod
    def from_config(cls, config: ProviderConfig) -> AwsProvider:
        """The provider as the core builds it (:data:`atlas.providers.ProviderFactory`)."""
        chain = AwsCredentialChain(config.credentials, config.env)
        return cls(credentials=chain, env=config.env)

    def __repr__(self) -> str:
        return f"AwsProvider(endpoint_url={self.endpoint_url!r})"

    def _poll_interval(self) -> float:
        raw = self._env.get(POLL_INTERVAL_ENV)
        if raw is None:
            return DEFAULT_POLL_INTERVAL
        try:
            value = float(raw)
        except ValueError:
            raise PluginError(
                f"{POLL_INTERVAL_ENV} must be a number of seconds, not {raw!r}"
            ) from None
        if not 0 < value <= 600:
            raise PluginError(f"{POLL_INTERVAL_ENV} must be between 0 and 600 seconds")
        return value

    async def regions(self) -> Regions:
        """The clients, one per region (the key pair is looked up now, the clients opened
        as regions are needed)."""
        if self._regions is None:
            keys = await self._chain.resolve()

            async def open_region(region: str) -> Ec2:
                return await Ec2.open(
                    keys, region, endpoint_url=self.endpoint_url, max_attempts=self._max_attempts
                )

            async def open_rds(region: str) -> Ec2:
                return await Rds.open(
                    keys,
                    region,
                    endpoint_url=self.rds_endpoint_url,
                    max_attempts=self._max_attempts,
                )

            async def open_elbv2(region: str) -> Ec2:
                from atlas_aws.elbv2 import Elbv2  # noqa: PLC0415 - only with load balancers

                return await Elbv2.open(
                    keys, region, endpoint_url=self._elbv2_url, max_attempts=self._max_attempts
                )

            services = {"rds": open_rds, "elbv2": open_elbv2}
            self._regions = Regions(open_region, load_offerings().regions, services)
        return self._regions

    def calls(self) -> int:
        """EC2, RDS and ELBv2 calls made so far (every page counts)."""
        return self._regions.calls() if self._regions is not None else 0

    async def build_handlers(self) -> Mapping[str, KindHandler]:
        regions = await self.regions()
        return {cls.type: cls(regions, self.timing) for cls in ALL_OPS}

    async def _importers(self) -> dict[str, Ec2Handler]:
        handlers = await self.handlers()
        return {k: h for k, h in handlers.items() if isinstance(h, Ec2Handler)}

    async def inventory(self, *, region: str | None = None) -> list[FoundResource]:
        """Every VPC, subnet, security group, instance, volume, DB instance and load balancer
        in ``region`` (else in every region atlas knows); see :mod:`atlas_aws.imports`."""
        regions = [region] if region else list((await self.regions()).known)
        return await imports.inventory(await self._importers(), regions)

    async def read_import(
        self,
        resource: ResourceSpec,
        region: str,
        ids: Sequence[str],
        names: Mapping[str, str],
    ) -> FoundResource:
        return await imports.read_import(await self._importers(), resource, region, ids, names)

    async def aclose(self) -> None:
        if self._regions is not None:
            await self._regions.aclose()
