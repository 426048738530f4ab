"""`pipeline doctor` on a healthy deployment (a real Redis, daemon and worker) and on a broken one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit import PipelineProcess, ThrowawayRedis, wait_for
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration


def _doctor(env: dict[str, str]) -> tuple[int, dict[str, list[dict[str, str]]]]:
    script = Path(sys.executable).with_name("pipeline")
    run = subprocess.run(
        [str(script), "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    return run.returncode, json.loads(run.stdout)


@pytest.fixture
def stack_env(db_settings: Settings, cli_env: dict[str, str], redis_url: str) -> dict[str, str]:
    env = {**cli_env, "PIPELINE_REDIS_URL": redis_url, "PIPELINE_LOG_FORMAT": "json"}
    if db_settings.database_url:
        env["PIPELINE_DATABASE_URL"] = db_settings.database_url
    return env


@pytest.fixture
def running(stack_env: dict[str, str], tmp_path: Path) -> Iterator[list[PipelineProcess]]:
    procs = [
        PipelineProcess(["daemon"], stack_env, tmp_path / "daemon.log").start(),
        PipelineProcess(["worker"], stack_env, tmp_path / "worker.log").start(),
    ]
    yield procs
    for proc in procs:
        proc.kill()


def test_a_healthy_deployment_passes_every_check(
    running: list[PipelineProcess], stack_env: dict[str, str]
) -> None:
    daemon, worker = running
    wait_for(lambda: "daemon lock taken" in daemon.output(), timeout_s=60, what="the daemon runs")
    wait_for(lambda: "worker starting" in worker.output(), timeout_s=60, what="the worker runs")
    code, report = _doctor(stack_env)
    failed = [f for f in report["findings"] if f["level"] == "fail"]
    assert code == 0 and not failed, failed
    checks = {f["check"] for f in report["findings"]}
    assert {"redis", "database", "data folder", "disk", "inotify", "workers", "daemon", "clock"} <= checks
    assert any("pipeline-daemon" in f["message"] for f in report["findings"] if f["check"] == "daemon")


def test_a_broken_deployment_says_what_to_fix(
    stack_env: dict[str, str], db_settings: Settings, tmp_path: Path
) -> None:
    """Wrong Redis password, no daemon, no workers: exit 1, one finding each with its fix, no password."""
    with ThrowawayRedis(tmp_path / "redis", password="right-pw") as server:
        env = {**stack_env, "PIPELINE_REDIS_URL": server.url.replace("right-pw", "wrong-pw")}
        code, report = _doctor(env)
    assert code == 1
    by_check = {f["check"]: f for f in report["findings"]}
    assert by_check["redis"]["level"] == "fail" and "password" in by_check["redis"]["fix"]
    assert "wrong-pw" not in json.dumps(report)
    assert by_check["data folder"]["level"] == "ok"
    assert by_check["workers"]["level"] == "fail"
