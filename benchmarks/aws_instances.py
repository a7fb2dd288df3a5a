"""AWS: N instances launched, waited to ``running`` and terminated, on the emulator (moto
behind atlas's fidelity layer, launches pending for ``--pending`` seconds), by atlas and by
boto3 as its documentation shows it: one ``run_instances`` per instance followed by the
``instance_running`` waiter, and once with ``MinCount``/``MaxCount``. API calls are counted by
the emulator (every page, every waiter poll); each side is an account of its own.

    python -m benchmarks.aws_instances [--n 100] [--pending 2] [--runs 3]

The waiters poll every second (``WaiterConfig``; their default is 15 s) and atlas every second
(``ATLAS_AWS_POLL_INTERVAL``), so neither side waits longer than the other between looks.
Apache Libcloud's EC2 driver is not measured here yet.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3

from atlas.credentials import Secret
from atlas.facade import AsyncAtlas
from atlas.providers import Timing
from atlas.store import SQLiteStore
from atlas_aws.credentials import AwsKeys
from atlas_aws.emulator import AwsEmulator, FidelityConfig, account_for
from atlas_aws.emulator.images import image_id
from atlas_aws.provider import AwsProvider

REGION = "eu-west-1"
WAIT = {"Delay": 1, "MaxAttempts": 600}


def _key() -> str:
    return "AKIA" + secrets.token_hex(8).upper()


def _client(emulator: AwsEmulator, key: str) -> Any:
    return boto3.client(
        "ec2", region_name=REGION, endpoint_url=emulator.url,
        aws_access_key_id=key, aws_secret_access_key="bench-secret",
    )  # fmt: skip


def _image() -> str:
    return image_id(REGION, "ubuntu-24.04", "x86_64")


def boto3_one_by_one(emulator: AwsEmulator, key: str, n: int) -> None:
    ec2 = _client(emulator, key)
    ids = []
    for _ in range(n):
        [made] = ec2.run_instances(
            ImageId=_image(), InstanceType="t3.micro", MinCount=1, MaxCount=1
        )["Instances"]
        ec2.get_waiter("instance_running").wait(InstanceIds=[made["InstanceId"]], WaiterConfig=WAIT)
        ids.append(made["InstanceId"])
    for instance_id in ids:
        ec2.terminate_instances(InstanceIds=[instance_id])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)


def boto3_batched(emulator: AwsEmulator, key: str, n: int) -> None:
    ec2 = _client(emulator, key)
    made = ec2.run_instances(ImageId=_image(), InstanceType="t3.micro", MinCount=n, MaxCount=n)
    ids = [i["InstanceId"] for i in made["Instances"]]
    # The waiter asks by id: right after the launch EC2 may not know them yet.
    time.sleep(emulator.config.invisible_seconds)
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
    ec2.terminate_instances(InstanceIds=ids)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=WAIT)


def by_atlas(emulator: AwsEmulator, key: str, n: int) -> None:
    async def cycle() -> None:
        keys = AwsKeys(Secret(key), Secret("bench-secret"))
        provider = AwsProvider(
            keys, endpoint_url=emulator.url, env={}, timing=Timing(poll_interval=1.0)
        )
        spec = {
            "name": "bench", "provider": "aws", "region": REGION,
            "resources": [{"type": "instance", "name": "web", "specifications": {
                "instance_type": "t3.micro", "image": "ubuntu-24.04", "count": n}}],
        }  # fmt: skip
        async with AsyncAtlas(store=SQLiteStore(":memory:"), providers={"aws": provider}) as atlas:
            assert (await atlas.apply(spec)).status == "completed"
            assert (await atlas.destroy("bench")).status == "completed"

    asyncio.run(cycle())


SIDES: dict[str, Callable[[AwsEmulator, str, int], None]] = {
    "atlas": by_atlas,
    "boto3, one run_instances each + waiter": boto3_one_by_one,
    "boto3, MinCount/MaxCount + waiter": boto3_batched,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--pending", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    config = FidelityConfig(pending_seconds=args.pending, invisible_seconds=0.5, rate_limits=False)
    emulator = AwsEmulator(config=config).start()
    assert emulator.layer is not None
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in SIDES}
    try:
        for _ in range(args.runs):
            for name, side in SIDES.items():
                key = _key()
                started = time.perf_counter()
                side(emulator, key, args.n)
                wall = time.perf_counter() - started
                calls = emulator.layer.account(account_for(key)).requests
                results[name].append((wall, calls))
    finally:
        emulator.stop()
    base_wall = statistics.median(w for w, _ in results["atlas"])
    print(
        f"\n{args.n} instances, launches pending {args.pending:g} s, {args.runs} runs (medians)\n"
    )
    print("| who | wall s | x atlas | API calls | calls per instance |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        calls = statistics.median(c for _, c in runs)
        print(
            f"| {name} | {wall:.1f} | {wall / base_wall:.2f} | {calls:g} | {calls / args.n:.2f} |"
        )


if __name__ == "__main__":
    main()
