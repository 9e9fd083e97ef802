"""The async form with aioboto3, configured only through the environment (as the engine is)."""

from __future__ import annotations

import aioboto3
import pytest
from botocore.config import Config

import orgsim

NO_RETRY = Config(retries={"total_max_attempts": 1})


async def test_aioboto3_through_env(monkeypatch: pytest.MonkeyPatch) -> None:
    async with orgsim.serve("small", port=0, overrides={"quotas": {"enabled": False}}) as sim:
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        session = aioboto3.Session()
        async with session.client("sts", config=NO_RETRY) as sts:
            me = await sts.get_caller_identity()
            assert me["Account"] == sim.world.org.management_id
            member = sim.world.org.accounts[1].account_id
            out = await sts.assume_role(
                RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                RoleSessionName="async-test",
            )
        creds = out["Credentials"]
        member_session = aioboto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        async with member_session.client("ec2", config=NO_RETRY) as ec2:
            n = 0
            async for page in ec2.get_paginator("describe_instances").paginate(
                PaginationConfig={"PageSize": 5}
            ):
                n += sum(len(r["Instances"]) for r in page["Reservations"])
        expected = sum(1 for r in sim.truth() if r["account_id"] == member
                       and r["resource_type"] == "ec2:instance" and r["region"] == "us-east-1")
        assert n == expected
        async with session.client("resource-explorer-2", config=NO_RETRY) as re:
            got = []
            async for page in re.get_paginator("list_resources").paginate(
                PaginationConfig={"PageSize": 250}
            ):
                got.extend(page["Resources"])
        assert len(got) == len([r for r in sim.truth() if r["account_id"] in {
            a.account_id for a in sim.world.org.accounts if a.state != "SUSPENDED"}])
        async with session.client("s3", config=NO_RETRY) as s3:
            buckets = (await s3.list_buckets(MaxBuckets=100))["Buckets"]
            assert all(b["BucketRegion"] for b in buckets)


def test_builtin_scenarios_load_quickly() -> None:
    names = orgsim.builtin_names()
    assert {"demo", "small", "org-500", "org-2000", "hot-account", "no-explorer",
            "throttle-storm", "sso-org-500"} <= set(names)
    for name in names:
        world = orgsim.World(name)
        assert world.summary()["accounts"] >= 10
    big = orgsim.World("org-2000")
    assert 1_900_000 < big.inventory.base_total < 2_100_000
    assert not orgsim.World("no-explorer").explorer.indexes
    hot = orgsim.World("hot-account")
    inv = hot.inventory
    per_hot = sum(n for s, n in enumerate(inv.counts) if s // (inv.K * inv.NR) == 7)
    assert abs(per_hot / inv.base_total - 0.4) < 0.01
