"""No simulated account holds more IAM entities than AWS lets one account hold.

The skewed scenarios used to give their largest accounts up to 21,651 customer managed policies
and 54,128 roles (org-2000), over AWS's 5,000; the benchmarks' critical path then ran through
accounts that cannot exist.
"""

from __future__ import annotations

from collections import Counter

import pytest

import orgsim
from orgsim.registry import resource_types


def _most_per_account(world: orgsim.World) -> dict[str, int]:
    inv = world.inventory
    out: dict[str, int] = {}
    for rt in inv.types:
        if rt.is_global:
            t = inv.type_index[rt.rtype]
            out[rt.rtype] = max(inv.counts[inv.scope_index(a, inv.GLOBAL_R, t)] for a in range(inv.A))
    return out


def test_every_iam_type_declares_the_aws_per_account_quota() -> None:
    maxima = {rt.rtype: rt.per_account_max for rt in resource_types() if rt.service == "iam"}
    assert maxima == {"iam:role": 5000, "iam:user": 5000, "iam:policy": 5000, "iam:group": 500}


def test_no_builtin_scenario_builds_an_account_over_the_iam_quota() -> None:
    limits = {rt.rtype: rt.per_account_max for rt in resource_types() if rt.per_account_max}
    for name in orgsim.builtin_names():
        most = _most_per_account(orgsim.World(name))
        for rtype, n in most.items():
            assert n <= limits[rtype], (name, rtype, n)
    # The large scenarios do reach the quota: their biggest accounts are as large as AWS allows.
    assert _most_per_account(orgsim.World("org-2000"))["iam:policy"] == 5000


def test_an_account_over_the_quota_keeps_its_size_in_its_regional_types() -> None:
    overrides = {"resources": {"total": 60_000, "hot_account": 1, "hot_account_share": 0.9}}
    world = orgsim.World("small", overrides)
    hot = world.org.accounts[1].account_id
    per_type = Counter(row["resource_type"] for row in world.truth() if row["account_id"] == hot)
    assert per_type["iam:role"] == 5000  # 6,353 by weight
    assert per_type["iam:group"] == 500
    assert per_type["iam:policy"] < 5000  # under the quota: as the weights give it
    # The account and the organization keep the sizes the scenario asks for.
    assert abs(sum(per_type.values()) - 0.9 * 60_000) < 60
    assert abs(world.inventory.base_total - 60_000) < 60
    # What the IAM types gave up went to the regional types, in their proportions.
    assert per_type["ec2:instance"] / per_type["lambda:function"] == pytest.approx(30 / 15, rel=0.01)

