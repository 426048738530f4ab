"""The Procfile under honcho, as a developer runs it: a file dropped into ./data/raw is ingested, and
SIGTERM stops every process (Redis, daemon, workers, work horses, schedulers) within 10 s."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from stack.embedded_redis import free_port
from testkit import drop_csv, wait_for
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_the_procfile_ingests_a_dropped_file_and_stops_cleanly(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(REPO / "Procfile", app / "Procfile")
    env = {k: v for k, v in cli_env.items() if k != "PIPELINE_DATA_DIR"}  # the Procfile's ./data
    env.update(
        PIPELINE_REDIS_PORT=str(free_port()), PIPELINE_UI_PORT=str(free_port()), PIPELINE_QUIET_PERIOD_S="0.3"
    )
    honcho = str(Path(cli_env["PATH"].split(os.pathsep)[0]) / "honcho")
    log = (tmp_path / "honcho.log").open("wb")
    proc = subprocess.Popen(
        [honcho, "start", "-f", str(app / "Procfile"), "-d", str(app)],
        cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        settings = Settings.from_env({}, data_dir=app / "data", database_url=None)
        wait_for(lambda: (app / "data" / "raw").is_dir(), timeout_s=60, what="the daemon's data folder")
        path, sha, _ = drop_csv(settings.raw_dir, "MES_1m.csv", rows=300)

        def ingested() -> bool:
            record = (
                Ledger(settings).get("default", str(path), sha) if settings.ledger_path.exists() else None
            )
            return record is not None and record.status == "ingested"

        wait_for(ingested, timeout_s=120, what="the dropped file to be ingested")
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        assert len(family) >= 5  # honcho, redis-server, daemon, worker and its helpers
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _gone, alive = psutil.wait_procs(family, timeout=10)
        took = time.monotonic() - started
        assert not alive, [(p.pid, p.name()) for p in alive]
        assert took < 10
    finally:
        if proc.poll() is None:  # the test failed: leave nothing running (horses have their own groups)
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
