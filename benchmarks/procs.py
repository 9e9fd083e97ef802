"""The two processes of a benchmark: the simulator, and a measured child (orgsync or the baseline).

Each runs in its own process so that neither steals the other's interpreter: on a 2-core
machine the simulator gets one core and the engine the other, as they would against AWS.
A measured child is reaped with ``os.wait4``, which hands back that child's own rusage: peak
RSS (``ru_maxrss``) and user+sys CPU, not mixed with the simulator's as RUSAGE_CHILDREN would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

CLK_TCK = os.sysconf("SC_CLK_TCK")


def clean_env(endpoint: str | None = None, tree: Path | None = None) -> dict[str, str]:
    """The environment without the user's AWS settings, pointed at the simulator.

    ``tree``: a snapshot of the engine and simulator packages that shadows the editable install.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONPATH"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                "PYTHONUNBUFFERED": "1"})
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def child_cwd(tree: Path | None) -> Path:
    """Where children start: ``python -m`` puts the cwd first on sys.path, ahead of PYTHONPATH,
    so starting in the repository would measure the working tree instead of the snapshot."""
    return tree if tree is not None else Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """user+sys CPU of a live process from /proc (the simulator is measured before it stops)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def vm_hwm_kb(pid: int) -> int:
    """Peak RSS so far of a live process (VmHWM), 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class SimProcess:
    """``python -m orgsim serve`` in a subprocess; stopped (and measured) by ``stop``."""

    def __init__(self, scenario: str, log_path: Path, tree: Path | None = None) -> None:
        self.scenario = scenario
        self.tree = tree
        self.log_path = log_path
        self.proc: subprocess.Popen[str] | None = None
        self.endpoint = ""
        self.summary: dict[str, Any] = {}
        self.cpu_s = 0.0
        self.peak_rss_kb = 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115 - handed to the child, closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "orgsim", "serve", "--scenario", self.scenario, "--port", "0"],
            stdout=subprocess.PIPE, stderr=log, text=True, env=clean_env(tree=self.tree), cwd=child_cwd(self.tree),
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # "orgsim serving NAME on http://127.0.0.1:PORT"
        if "serving" not in first:
            self.stop()
            raise RuntimeError(f"orgsim did not start: {first!r} (log: {self.log_path})")
        self.endpoint = first.strip().rsplit(" ", 1)[1]
        self.summary = json.loads(self.proc.stdout.readline())

    def admin(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(f"{self.endpoint}/_orgsim/{path}", method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return dict(self.admin("stats"))

    def reset_stats(self) -> None:
        self.admin("stats/reset", "POST")

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        if proc.poll() is None:
            self.cpu_s = cpu_seconds(proc.pid)
            self.peak_rss_kb = vm_hwm_kb(proc.pid)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        self._log.close()


@dataclass
class ChildResult:
    argv: list[str]
    exit_code: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    peak_rss_kb: int
    timed_out: bool
    stopped: str  # "" ran to the end; "timeout" or "memory" when the harness interrupted it
    stdout: str
    stderr_tail: str

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s

    def to_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "wall_s": round(self.wall_s, 3),
                "cpu_user_s": round(self.cpu_user_s, 3), "cpu_sys_s": round(self.cpu_sys_s, 3),
                "cpu_s": round(self.cpu_s, 3), "peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
                "timed_out": self.timed_out, "stopped": self.stopped}


def vm_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(argv: list[str], env: dict[str, str], workdir: Path, name: str,
                 timeout: float | None = None, max_rss_mb: float | None = None) -> ChildResult:
    """Run a child to completion; wall time, its own CPU and peak RSS (from wait4).

    ``timeout`` and ``max_rss_mb`` interrupt it (SIGINT, then SIGKILL after a minute): the
    machine is shared, and a run that would take hours or eat the memory others need is
    stopped and reported as far as it got.
    """
    out_path, err_path = workdir / f"{name}.stdout", workdir / f"{name}.stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=workdir)
        stopped = ""
        interrupted_at = 0.0
        polls = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.perf_counter() - start
            polls += 1
            if not stopped:
                if timeout is not None and elapsed > timeout:
                    stopped = "timeout"
                elif max_rss_mb is not None and polls % 25 == 0 and vm_rss_kb(proc.pid) > max_rss_mb * 1024:
                    stopped = "memory"
                if stopped:
                    # SIGINT first: orgsync leaves the catalog as it was and exits.
                    interrupted_at = elapsed
                    proc.send_signal(signal.SIGINT)
            elif elapsed - interrupted_at > 60:
                proc.kill()
            time.sleep(0.02)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
    stderr = err_path.read_text(errors="replace")
    return ChildResult(
        argv=argv, exit_code=proc.returncode, wall_s=wall, cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime, peak_rss_kb=usage.ru_maxrss, timed_out=bool(stopped), stopped=stopped,
        stdout=out_path.read_text(errors="replace"), stderr_tail=stderr[-4000:],
    )
