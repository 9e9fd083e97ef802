"""The garbage collector's settings during a sync, the process's own afterwards, and its exit."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from sync.heap import SYNC_THRESHOLDS, long_lived_heap


def test_a_sync_collects_rarely_and_leaves_the_process_settings_as_they_were() -> None:
    before = gc.get_threshold()
    assert before != SYNC_THRESHOLDS
    with long_lived_heap():
        assert gc.get_threshold() == SYNC_THRESHOLDS
    assert gc.get_threshold() == before
    with pytest.raises(KeyboardInterrupt), long_lived_heap():
        raise KeyboardInterrupt  # Ctrl-C in a sync
    assert gc.get_threshold() == before


EXIT_WITH_GARBAGE = """
import gc, sys

class Finalized:
    def __del__(self) -> None:
        print("collected", flush=True)

def cycle() -> None:
    obj = Finalized()
    obj.self = obj  # garbage only a collection can free, like tenacity's state of a call was

gc.disable()
for _ in range(3):
    cycle()
sys.argv = ["orgsync", "--version"]
from sync.cli import {entry}
{entry}()
"""


@pytest.mark.parametrize(("entry", "collected_at_exit"), [("main", 3), ("run", 0)])
def test_the_orgsync_process_exits_without_collecting_its_garbage(entry: str, collected_at_exit: int) -> None:
    # `run` is the console script and `python -m sync`; the click group alone (`main`, what the
    # tests' CliRunner calls) leaves CPython's collection at exit in place, as the control here.
    done = subprocess.run([sys.executable, "-c", EXIT_WITH_GARBAGE.format(entry=entry)], capture_output=True,
                          text=True, timeout=60, check=True)
    assert "orgsync" in done.stdout  # the command line ran
    assert done.stdout.count("collected") == collected_at_exit
