"""`pipeline up` on a fresh data folder with no REDIS_URL: embedded Redis, daemon, workers, supervised."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from stack.embedded_redis import free_port
from testkit import PipelineProcess, make_bars, wait_for, write_bars_csv

pytestmark = pytest.mark.integration


def _files(env: dict[str, str]) -> list[dict[str, object]]:
    script = Path(sys.executable).with_name("pipeline")
    out = subprocess.run(
        [str(script), "files", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout)["files"])


def _ingested(env: dict[str, str], name: str) -> bool:
    return any(Path(str(f["path"])).name == name and f["status"] == "ingested" for f in _files(env))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def _cmd(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:  # a zombie the supervisor has not reaped yet, or already gone
        return ""


def _workers(up: PipelineProcess) -> list[psutil.Process]:
    return [p for p in up.descendants() if "pipeline worker" in _cmd(p) and _safe_ppid(p) == up.pid]


def _safe_ppid(proc: psutil.Process) -> int:
    try:
        return int(proc.ppid())
    except psutil.Error:
        return -1


def test_up_ingests_a_dropped_file_restarts_a_killed_worker_and_stops_everything(
    cli_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    ui_port = free_port()
    env = {**cli_env, "PIPELINE_LOG_FORMAT": "json", "PIPELINE_UI_PORT": str(ui_port)}
    up = PipelineProcess(["up", "--workers", "2"], env, tmp_path / "up.log").start()
    try:
        wait_for(lambda: len(_workers(up)) == 2, timeout_s=60, what="two workers")
        ui_url = f"http://127.0.0.1:{ui_port}"
        wait_for(lambda: _answers(f"{ui_url}/_stcore/health"), timeout_s=90, what="the web UI")
        assert ui_url in up.output()
        wait_for(lambda: (data_dir / "state" / "redis" / "redis.url").exists(), what="the embedded redis")
        write_bars_csv(tmp_path / "MES_1m.csv", make_bars(1000, tz=None)).rename(
            data_dir / "raw" / "MES_1m.csv"
        )
        wait_for(lambda: _ingested(env, "MES_1m.csv"), timeout_s=90, interval_s=0.3, what="MES ingested")

        victim = _workers(up)[0]
        victim.kill()  # kill -9 behind the supervisor's back: it is restarted
        wait_for(
            lambda: victim.pid not in {w.pid for w in _workers(up)} and len(_workers(up)) == 2, what="restart"
        )
        write_bars_csv(tmp_path / "MGC_1m.csv", make_bars(500, seed=1, tz=None)).rename(
            data_dir / "raw" / "MGC_1m.csv"
        )
        try:
            wait_for(lambda: _ingested(env, "MGC_1m.csv"), timeout_s=90, interval_s=0.3, what="MGC ingested")
        except TimeoutError:
            raise AssertionError(f"{_files(env)}\n{up.output()[-6000:]}") from None

        children = up.descendants()
        assert any("redis-server" in _cmd(c) for c in children)
        assert "rq info -u redis://127.0.0.1:" in up.output()
        assert up.terminate(timeout_s=120) == 0, up.output()[-3000:]
        _gone, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], [_cmd(p) for p in alive]
        assert not (data_dir / "state" / "redis" / "redis.url").exists()
        assert (data_dir / "state" / "redis" / "appendonly.aof").exists()
    finally:
        up.kill()


def test_up_with_redis_url_starts_no_redis(cli_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    env = {**cli_env, "REDIS_URL": redis_url, "PIPELINE_LOG_FORMAT": "json"}
    up = PipelineProcess(["up", "--workers", "1", "--no-ui"], env, tmp_path / "up.log").start()
    try:
        wait_for(lambda: len(_workers(up)) == 1, timeout_s=60, what="one worker")
        assert not any("redis-server" in _cmd(c) for c in up.descendants())
        assert not any("streamlit" in _cmd(c) for c in up.descendants())
        assert redis_url in up.output()
        assert up.terminate(timeout_s=60) == 0
    finally:
        up.kill()
