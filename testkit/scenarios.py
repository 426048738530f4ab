"""The fault scenarios and what each must end with: the README's reliability table is built from this
table, and each scenario's test asserts its checker counted exactly these numbers (lost 0,
duplicated 0), so the README can never claim what the suite did not prove."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SCENARIOS", "Scenario"]


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str
    files: int
    ingested: int
    rejected: int = 0
    other: str = ""
    """Final statuses besides ingested and rejected, e.g. ``10 vanished``."""


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "worker_sigkill",
            "SIGKILL of a worker (and its work horse) at random points, 3 times, during 100 ingests",
            100,
            100,
        ),
        Scenario(
            "daemon_sigkill",
            "SIGKILL of the daemon during a 1,000-file burst, more files dropped while it is down, then a restart",
            1000,
            950,
            50,
        ),
        Scenario(
            "redis_restart_with_data", "Redis stopped mid-burst and restarted with its data (AOF)", 200, 200
        ),
        Scenario("redis_restart_without_data", "Redis killed mid-burst and restarted empty", 200, 200),
        Scenario("redis_flushed", "FLUSHALL mid-burst", 200, 200),
        Scenario(
            "disk_full",
            "the processed store's disk (a 6 MB tmpfs) fills during writes, then space is freed",
            40,
            40,
        ),
        Scenario(
            "vanish_or_replace",
            "10 files deleted and 10 replaced between their event and their job",
            40,
            30,
            0,
            "10 vanished",
        ),
        Scenario("two_daemons", "two daemons watching one folder", 200, 200),
        Scenario(
            "hostile_drop",
            "a FIFO, a link out of the folder, a broken link, a gzip bomb and binary junk dropped before valid files",
            25,
            20,
            2,
            "3 ignored",
        ),
    )
}
