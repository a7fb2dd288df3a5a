"""A count that changes adds or terminates instances; the instances that stay are kept. The
added batch is one ``RunInstances`` with a token of its own, derived from the update's
operation, which is journaled before the call: a retry after an answer lost sends it again
and EC2 launches nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from atlas.cli.render import render_plan
from atlas.facade import AsyncAtlas
from atlas.model.cloud import Owner
from atlas.providers import ProviderRegistry, StepContext
from atlas.spec import validate_spec
from atlas.store import SQLiteStore
from atlas_aws.emulator.state import Fault, FaultKind
from atlas_aws.faults import outside_client
from atlas_aws.ops.instances import client_token
from tests.atlas_aws.test_provider import REGION, Cloud, cloud, instance

pytestmark = pytest.mark.loopback


def doc(count: int) -> dict[str, Any]:
    return {"name": "shop", "provider": "aws", "region": REGION, "resources": [instance(count)]}


@pytest.fixture
async def aws() -> AsyncIterator[Cloud]:
    made = cloud()
    yield made
    await made.provider.aclose()


def _atlas(aws: Cloud, registry: ProviderRegistry) -> AsyncAtlas:
    return AsyncAtlas(
        store=SQLiteStore(":memory:"), registry=registry, workspace="w",
        providers={"aws": aws.provider},
    )  # fmt: skip


def _objects(atlas: AsyncAtlas) -> list[tuple[str, str]]:
    [web] = atlas.get("shop").resources
    return [(o.name, o.id) for o in web.state().objects]


async def test_a_count_of_one_becoming_three_adds_two_and_back_terminates_two(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    async with _atlas(aws, aws_registry) as atlas:
        assert (await atlas.apply(doc(1))).status == "completed"
        [(name, first)] = _objects(atlas)
        assert name == "shop-web"

        plan = await atlas.plan(doc(3))
        [change] = plan.changes
        assert change.action == "update"
        assert change.needs_replacement is None
        text = render_plan(plan)
        # One in-place change, priced as the two instances it adds (nothing is replaced).
        [line] = [x for x in text.splitlines() if "instance web" in x]
        assert line.split()[:4] == ["~", "update", "instance", "web"], text
        assert "specifications.count: 1 -> 3" in line, text
        assert "replace" not in text, text

        seen: list[tuple[str, str | None]] = []
        ec2 = await (await aws.provider.regions()).get(REGION)
        call = ec2.call

        async def spy(operation: str, **params: Any) -> Any:
            if operation == "RunInstances":  # what the journal says at the moment of the call
                [web] = atlas.get("shop").resources
                seen.append((web.status, web.operation_id))
            return await call(operation, **params)

        ec2.call = spy  # type: ignore[method-assign]
        op = await atlas.apply(doc(3))
        assert op.status == "completed", op.error
        assert seen == [("updating", op.id)]
        objects = _objects(atlas)
        assert [n for n, _ in objects] == ["shop-web-1", "shop-web-2", "shop-web-3"]
        assert objects[0][1] == first, "the instance there was is kept"
        assert aws.account.actions.count("RunInstances") == 2
        assert aws.account.actions.count("TerminateInstances") == 0
        spec = validate_spec(doc(3), registry=aws_registry)
        ctx = StepContext(Owner("w", "shop"), spec, spec.resource("web"), {}, op.id)
        added = f"RunInstances/{client_token(ctx, 2, 2)}"
        assert added in aws.account.tokens
        assert len(set(aws.account.tokens)) == 2  # the create's and the added batch's
        assert (await atlas.plan(doc(3))).empty

        plan = await atlas.plan(doc(1))
        assert [c.action for c in plan.changes] == ["update"]
        assert "specifications.count: 3 -> 1" in render_plan(plan)
        assert "replace" not in render_plan(plan)
        op = await atlas.apply(doc(1))
        assert op.status == "completed", op.error
        assert _objects(atlas) == [("shop-web", first)]
        assert aws.account.actions.count("RunInstances") == 2
        assert aws.account.actions.count("TerminateInstances") == 1
        assert (await atlas.plan(doc(1))).empty
        assert (await atlas.destroy("shop")).status == "completed"


async def test_the_added_batch_is_launched_once_when_its_answer_is_lost(
    aws: Cloud, aws_registry: ProviderRegistry
) -> None:
    async with _atlas(aws, aws_registry) as atlas:
        assert (await atlas.apply(doc(2))).status == "completed"
        with aws.account.lock:
            aws.account.faults.append(Fault(FaultKind.ERROR_AFTER, "RunInstances", 1))
        op = await atlas.apply(doc(4))
        assert op.status == "completed", op.error
        assert len(_objects(atlas)) == 4
        launched = [
            i
            for r in outside_client(aws.emulator, aws.keys, REGION).describe_instances()[
                "Reservations"
            ]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        assert len(launched) == 4
        assert aws.account.armed() == 0, "the fault did not strike"
        assert (await atlas.destroy("shop")).status == "completed"
