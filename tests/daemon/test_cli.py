"""`pipeline daemon` as a real process: logs, signals, systemd notify, exit codes, and one e2e ingest."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from testkit import csv_bytes, ledger_rows, make_settings, queued_jobs, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def env(cli_env: dict[str, str], redis_url: str) -> dict[str, str]:
    return {
        **cli_env,
        "PIPELINE_REDIS_URL": redis_url,
        "PIPELINE_QUIET_PERIOD_S": "0.3",
        "PIPELINE_LOG_FORMAT": "json",
    }


def spawn(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(["pipeline", "daemon", *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def events(log: Path) -> list[dict]:
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def test_daemon_process_logs_enqueues_and_stops_cleanly_on_sigterm(tmp_path, env, conn, data_dir):
    """One JSON log line per enqueue (path, source, sha, reason); SIGTERM exits 0."""
    log = tmp_path / "daemon.log"
    notify_path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(notify_path)
        notify.settimeout(30)
        proc = spawn({**env, "NOTIFY_SOCKET": notify_path}, log)
        try:
            assert notify.recv(64) == b"READY=1"  # after the first reconcile
            (data_dir / "raw" / "MES.csv").write_bytes(csv_bytes())
            wait_for(lambda: len(queued_jobs(conn)) == 1)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
            assert notify.recv(64) == b"STOPPING=1"
        finally:
            proc.kill()
    (line,) = [e for e in events(log) if e["event"] == "enqueue"]
    assert line["path"].endswith("raw/MES.csv") and line["source"] == "default"
    assert line["reason"] == "closed" and len(line["sha"]) == 16 and line["process"] == "daemon"
    assert any(e["event"] == "stopped" for e in events(log))


def test_unreachable_redis_is_a_clear_error_and_exit_code(tmp_path, cli_env):
    done = subprocess.run(
        ["pipeline", "daemon"], env={**cli_env, "PIPELINE_REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_redis_url_is_a_clear_error(cli_env):
    done = subprocess.run(
        ["pipeline", "daemon", "--once"], env=cli_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "PIPELINE_REDIS_URL" in done.stderr


def test_once_prints_one_json_summary(env, data_dir, conn):
    (data_dir / "raw").mkdir()
    for i in range(3):
        (data_dir / "raw" / f"F{i}.csv").write_bytes(csv_bytes(seed=i))
    cmd = ["pipeline", "daemon", "--once", "--json"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"enqueued": 3, "skipped": {}}
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout) == {"enqueued": 0, "skipped": {}}
    assert len(queued_jobs(conn)) == 3


def test_end_to_end_with_a_real_worker(tmp_path, env, data_dir, redis_url):
    """A dropped file, the daemon and `pipeline worker --burst`: the ledger ends ingested with all rows."""
    (data_dir / "raw").mkdir()
    (data_dir / "raw" / "MES_1m.csv").write_bytes(csv_bytes(rows=120, seed=7))
    (data_dir / "raw" / "BAD_1m.csv").write_bytes(b"datetime,open\nnot a date,1\n")
    once = subprocess.run(
        ["pipeline", "daemon", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert once.returncode == 0, once.stderr
    worker = subprocess.run(
        ["pipeline", "worker", "--burst", "ingest"], env=env, capture_output=True, text=True, timeout=300
    )
    assert worker.returncode == 0, worker.stderr[-2000:]
    settings = make_settings(data_dir, redis_url)
    rows = {Path(r.path).name: r for r in ledger_rows(settings)}
    assert rows["MES_1m.csv"].status == "ingested" and rows["MES_1m.csv"].rows == 120
    assert rows["BAD_1m.csv"].status == "rejected" and rows["BAD_1m.csv"].reason
    rerun = subprocess.run(
        ["pipeline", "daemon", "--once", "--json"], env=env, capture_output=True, text=True
    )
    assert json.loads(rerun.stdout)["enqueued"] == 0
