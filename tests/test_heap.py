"""The garbage collector's settings during a sync, and the process's own afterwards."""

from __future__ import annotations

import gc

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
