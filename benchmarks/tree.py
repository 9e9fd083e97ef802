"""Which code is measured: a snapshot of a git revision, not the shared working tree.

Several engineers edit the engine in this checkout at once, so the working tree may be half
way through a change. By default the harness measures ``HEAD``: ``git archive`` extracts the
engine and simulator packages into a temporary directory that ``PYTHONPATH`` puts ahead of the
editable install, and the result is labelled with that commit. ``--rev worktree`` measures
the files as they are (labelled ``<commit>+dirty`` when the engine has local changes).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("sync", "catalog", "queries", "orgsim")
WORKTREE = "worktree"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def describe(rev: str) -> str:
    """The last commit at ``rev`` that changed the measured packages (commits that touch only
    benchmarks or docs do not change what is measured); the working tree adds +dirty."""
    try:
        head = _git("log", "-1", "--format=%h", "HEAD" if rev == WORKTREE else rev, "--", *PACKAGES)
        if rev != WORKTREE:
            return head
        dirty = _git("status", "--porcelain", "--", *PACKAGES)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


@contextmanager
def code_tree(rev: str) -> Iterator[Path | None]:
    """A directory holding the packages at ``rev`` (None: the working tree itself)."""
    if rev == WORKTREE:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="orgsync-rev-") as tmp:
        archive = subprocess.run(["git", "archive", "--format=tar", rev, *PACKAGES], cwd=REPO,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)
