"""Crash safety, for real: `python -m sync sync` runs as a subprocess against an orgsim server
subprocess and is killed with SIGKILL while it discovers, while it lists and while it merges.
The catalog must open afterwards, hold exactly the last committed state, and the next run must
complete. Also: a second sync on a busy catalog exits 2 at once, and readers work during a sync.

The simulated organization has latency, so listing takes a couple of seconds, and is mutated by
20% between the baseline and the killed syncs, so the merge has a thousand rows to write.
Ctrl-C (SIGINT) mid-listing must stop the sync the same way, with a message instead of a trace.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import run_cli, write

CONFIG = """
[[integration]]
name = "sim"
type = "aws-organization"
region = "us-east-1"
sso_region = "us-east-1"
sso_portal = "https://sim.awsapps.com/start"
resource_types = ["ec2:instance", "rds:db", "secretsmanager:secret", "iam:role", "dynamodb:table"]
resource_owner = { tag_key = "owner", attribute = "group" }
integration_owner = { attribute = "group", values = ["platform-admins"] }
"""

SCENARIO = {"organization": {"accounts": 5}, "resources": {"total": 3000}, "latency": {"base_ms": 25},
            "quotas": {"enabled": False}, "explorer": {"enabled": False}}
# The engine's own rate limits would make the run slower without making it more interesting.
SYNC_ARGS = ("--rate-scale", "20")


@dataclass
class Sim:
    url: str
    env: dict[str, str]

    def mutate(self, share: float, seed: int) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}/_orgsim/mutate", method="POST",
                                         data=json.dumps({"share": share, "seed": seed}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data


@dataclass
class SyncProcess:
    """A `python -m sync sync` subprocess whose stderr lines are collected with their arrival time."""

    proc: subprocess.Popen[str]
    started: float = field(default_factory=time.monotonic)
    lines: queue.Queue[tuple[float, str]] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # when each line in `seen` arrived

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put((time.monotonic(), line))

    def wait_for(self, text: str, timeout: float = 60.0) -> float:
        """Block until a stderr line containing `text`; returns when it arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                when, line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            self.arrived.append(when)
            if text in line:
                return when
        raise AssertionError(f"no {text!r} on stderr; got {self.seen!r}, exit {self.proc.poll()}")

    def holds_open(self, path: Path) -> bool:
        """Whether the process has the catalog file open right now (i.e. it is inside the commit)."""
        fd_dir = Path(f"/proc/{self.proc.pid}/fd")
        try:
            return any(os.readlink(fd_dir / fd) == str(path) for fd in os.listdir(fd_dir))
        except (FileNotFoundError, ProcessLookupError):
            return False

    def kill(self) -> bool:
        """SIGKILL; returns whether the process was still running."""
        alive = self.proc.poll() is None
        if alive:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        return alive


def start_sync(sim: Sim, config: str, catalog: Path, *extra: str) -> SyncProcess:
    proc = subprocess.Popen([sys.executable, "-m", "sync", "sync", config, "--catalog", str(catalog), *SYNC_ARGS,
                             *extra], env=sim.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return SyncProcess(proc)


def finish(process: SyncProcess, timeout: float = 120.0) -> str:
    # Not communicate(): stderr belongs to the pump thread.
    assert process.proc.stdout is not None
    out = process.proc.stdout.read()
    process.proc.wait(timeout=timeout)
    assert process.proc.returncode == 0, out + "".join(process.seen)
    return out


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    proc = subprocess.Popen([sys.executable, "-m", "orgsim", "serve", "--scenario", "small", "--port", "0",
                             "--override", json.dumps(SCENARIO)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "serving" in first, first
        url = first.rsplit(" ", 1)[1].strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_DEFAULT_REGION="us-east-1", PYTHONUNBUFFERED="1")
        env.update({k: os.environ[k] for k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE") if k in os.environ})
        yield Sim(url, env)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


# --- the catalog's state --------------------------------------------------------------------------


def snapshot(catalog: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every base table, rows sorted: 'exactly the same state' means equal snapshots."""
    with duckdb.connect(str(catalog), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE "
                                            "table_type = 'BASE TABLE' AND table_schema = 'main'").fetchall()]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in sorted(tables)}


def content(catalog: Path) -> dict[str, Any]:
    """What a completed sync decides, without its timings: resources, deletions, history, runs."""
    with duckdb.connect(str(catalog), read_only=True) as con:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(con.execute(sql).fetchall(), key=repr)

        return {
            "current": rows("SELECT arn, tags, owner_tag_value FROM current_resources"),
            "deleted": rows("SELECT arn FROM resources WHERE deleted_at IS NOT NULL"),
            "changes": rows("SELECT sync_id, arn, change, old_tags, new_tags FROM resource_changes"),
            "runs": rows("SELECT sync_id, status, added, modified, deleted, restored FROM sync_runs"),
        }


@dataclass
class World:
    config: str
    baseline: Path  # synced once at generation 0; the simulator is at generation 1 since
    before: dict[str, list[tuple[Any, ...]]]  # snapshot(baseline)
    after: dict[str, Any]  # content() once a sync of generation 1 completed on top of it


@pytest.fixture(scope="module")
def world(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("crash")
    config = write(base / "orgsync.toml", CONFIG)
    baseline = base / "baseline.duckdb"
    finish(start_sync(sim, config, baseline))
    generation = sim.mutate(0.2, seed=11)
    assert generation["deleted"] > 100
    reference = base / "reference.duckdb"
    shutil.copy(baseline, reference)
    finish(start_sync(sim, config, reference))
    after = content(reference)
    assert after["runs"][-1][0] == 2 and len([c for c in after["changes"] if c[0] == 2]) > 500
    return World(config, baseline, snapshot(baseline), after)


def fresh(world: World, tmp_path: Path) -> Path:
    catalog = tmp_path / "c.duckdb"
    shutil.copy(world.baseline, catalog)
    return catalog


def assert_recovers(sim: Sim, world: World, catalog: Path) -> None:
    """The next run completes and lands exactly where an uninterrupted one does."""
    finish(start_sync(sim, world.config, catalog))
    got = content(catalog)
    runs = got.pop("runs")
    expected = dict(world.after)
    expected_runs = expected.pop("runs")
    assert got == expected
    # If the kill came after the commit, the recovery run found nothing left to change.
    assert runs[:len(expected_runs)] == expected_runs
    assert [r[1:] for r in runs[len(expected_runs):]] in ([], [("complete", 0, 0, 0, 0)])
    assert run_cli("status", "--catalog", str(catalog)).exit_code == 0


# --- kills ----------------------------------------------------------------------------------------


def test_kill_during_discovery_leaves_the_last_committed_state(sim: Sim, world: World, tmp_path: Path) -> None:
    catalog = fresh(world, tmp_path)
    process = start_sync(sim, world.config, catalog)
    process.wait_for("discovering")
    assert process.kill()
    assert snapshot(catalog) == world.before
    assert_recovers(sim, world, catalog)


def test_kill_mid_listing_leaves_the_last_committed_state(sim: Sim, world: World, tmp_path: Path) -> None:
    catalog = fresh(world, tmp_path)
    process = start_sync(sim, world.config, catalog)
    process.wait_for("discovering")
    time.sleep(1.0)  # listing takes about 2.5 s
    assert not any("committing" in line for line in process.seen)
    assert process.kill()
    assert snapshot(catalog) == world.before
    assert_recovers(sim, world, catalog)


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.25])
def test_kill_mid_merge_leaves_the_last_committed_state(sim: Sim, world: World, tmp_path: Path,
                                                        delay: float) -> None:
    catalog = fresh(world, tmp_path)
    process = start_sync(sim, world.config, catalog)
    process.wait_for("committing")
    # Wait until the sync has the catalog open for its commit, then a little longer.
    deadline = time.monotonic() + 10
    while not process.holds_open(catalog) and process.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(delay)
    inside = process.holds_open(catalog)
    killed = process.kill()
    # The catalog opens; it holds either the previous commit exactly, or, if the kill came after the
    # commit was durable, exactly what the sync committed. Never anything in between.
    state = snapshot(catalog)
    if state != world.before:
        assert content(catalog) == world.after, f"a kill {delay}s into the commit left a mixed state"
    print(f"kill {delay}s into the commit (catalog open: {inside}, still running: {killed}): "
          f"{'previous state' if state == world.before else 'new state'}")
    if delay == 0.0:
        assert killed and inside, "the kill came before the commit opened the catalog: the test proves nothing"
    elif not killed:
        # The sync finished first (a small commit, and the exit skips its final collection).
        assert process.proc.returncode == 0 and state != world.before
    assert_recovers(sim, world, catalog)


def test_ctrl_c_mid_listing_stops_the_sync_and_keeps_the_last_committed_state(sim: Sim, world: World,
                                                                            tmp_path: Path) -> None:
    catalog = fresh(world, tmp_path)
    process = start_sync(sim, world.config, catalog)
    process.wait_for("discovering")
    time.sleep(1.0)  # listing takes about 2.5 s
    assert process.proc.poll() is None and not any("committing" in line for line in process.seen)
    process.proc.send_signal(signal.SIGINT)
    process.proc.wait(timeout=30)  # a hang guard, not a timing assertion
    _drain(process)
    stderr = "".join(process.seen)
    assert process.proc.returncode == 130, stderr
    assert "orgsync: interrupted: the sync of 'sim' was not committed, the catalog keeps its last committed state" \
        in stderr
    assert "Traceback" not in stderr and "committing" not in stderr
    assert snapshot(catalog) == world.before
    assert_recovers(sim, world, catalog)


# --- concurrency ----------------------------------------------------------------------------------


def test_a_second_sync_is_refused_and_readers_work_while_a_sync_runs(sim: Sim, world: World,
                                                                     tmp_path: Path) -> None:
    catalog = fresh(world, tmp_path)
    old = len(world.before["resource_rows"])
    new = len(world.after["current"])
    process = start_sync(sim, world.config, catalog)
    process.wait_for("discovering")

    second = subprocess.run([sys.executable, "-m", "sync", "sync", world.config, "--catalog", str(catalog)],
                            env=sim.env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert f"catalog {catalog} is busy: a sync is already running (pid {process.proc.pid})" in second.stderr

    # Readers (this process) query the catalog while the sync lists and commits.
    counts: list[int] = []
    spans: list[tuple[float, float]] = []
    while process.proc.poll() is None:
        started = time.monotonic()
        result = run_cli("query", "SELECT count(*) AS n FROM current_resources", "--catalog", str(catalog),
                         "--format", "json")
        assert result.exit_code == 0, result.output
        counts.append(json.loads(result.output)[0]["n"])
        assert run_cli("status", "--catalog", str(catalog)).exit_code == 0
        spans.append((started, time.monotonic()))
        _drain(process)
    exited = time.monotonic()
    finish(process)
    _drain(process)
    assert set(counts) <= {old, new} and counts[0] == old
    # Readers that ran during the commit, or met its lock and waited for it, and still answered.
    committing = next(t for t, line in zip(process.arrived, process.seen) if "committing" in line)
    assert any(start <= exited and end >= committing for start, end in spans), (committing, exited, spans[-3:])
    assert content(catalog) == world.after


def _drain(process: SyncProcess) -> None:
    """Move the stderr lines waiting in the queue into `seen`."""
    while True:
        try:
            when, line = process.lines.get_nowait()
        except queue.Empty:
            return
        process.seen.append(line)
        process.arrived.append(when)
