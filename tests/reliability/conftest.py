"""Fixtures of the fault suite: one Harness per scenario, always torn down (processes, Redis, mounts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.faults import Harness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    running = Harness(tmp_path)
    yield running
    running.close()
