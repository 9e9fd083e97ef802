"""`python -m benchmarks.owners_resolve` keeps working, at a size a test can afford.

No timing assertions: only that the catalog it builds resolves as its generator intends and that
every figure is printed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from benchmarks import owners_resolve
from sync.owners import resolve_many


def test_the_benchmark_builds_its_catalog_and_prints_every_figure(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    catalog = tmp_path / "owners.duckdb"
    owners_resolve.main(["--resources", "4000", "--arns", "300", "--runs", "1", "--users", "300", "--groups", "60",
                         "--distinct-owners", "120", "--keep", str(catalog)])
    out = capsys.readouterr().out
    assert "catalog: 4,000 resources, 120 owner values, 300 users, 60 groups" in out
    assert "resolve_many of 300 ARNs (297 found," in out  # 1% of the ARNs asked for are unknown
    for figure in ("cold (catalog path)", "warm (connection)", "SQL to Arrow", "Python records", "resolve_owners"):
        assert figure in out
    # The generated owners exercise every rule: tag, fallback (untagged, unknown owner), partly unknown.
    sample = owners_resolve.sample_arns(4000, 400, seed=7, unknown=0.0)
    found = resolve_many(sample, catalog=str(catalog))
    assert len(found) == 400
    sources = Counter(r.source for r in found.values())
    assert sources["resource-owner-tag"] > 200 and sources["integration-owner-fallback"] > 20
    problems = Counter(p.code for r in found.values() for p in r.problems)
    assert problems["owner-tag-missing"] > 0 and problems["owner-not-in-idp"] > 0
    assert all(len(r.approvers) > 0 for r in found.values())
