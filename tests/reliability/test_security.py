"""Security promises of issue 11: upload names stay in their session, nothing uploaded is executed or
unpickled, RQ speaks JSON, and a Redis password never reaches a log line or a screen."""

from __future__ import annotations

import ast
import json
import subprocess
import time
import zlib
from pathlib import Path

import fakeredis
import pytest

from jobqueue.ingest import IngestRequest, enqueue_ingest_many
from testkit import PipelineProcess, ThrowawayRedis, drop_csv, wait_for
from trading_pipeline.errors import UnsafeNameError
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.ledger import Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.sources import SessionManager

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = ("trading_pipeline", "jobqueue", "stack", "cli", "daemon", "workers", "ui")


@pytest.mark.parametrize(
    "name",
    ["../../escape.csv", "/etc/cron.d/x.csv", "a/../../b.csv", "..\\..\\c.csv", "x\x00.csv", "C:evil.csv",
     "..", "dir/x.csv", "\u202eevil.csv", "ok\n.csv"],
)  # fmt: skip
def test_upload_names_never_write_outside_their_session(settings: Settings, name: str) -> None:
    sessions = SessionManager(settings)
    session = sessions.create_session()
    before = {p for p in settings.data_dir.rglob("*")}
    with pytest.raises(UnsafeNameError):
        sessions.add_file(session, name, b"datetime,open,high,low,close,volume\n")
    after = {p for p in settings.data_dir.rglob("*")}
    assert after == before, f"{name!r} wrote {after - before}"


def test_rq_jobs_are_json_never_pickle(settings: Settings) -> None:
    conn = fakeredis.FakeRedis()
    request = IngestRequest(str(settings.raw_dir / "MES_1m.csv"), "ab" * 32, IngestOptions())
    (job_id,) = enqueue_ingest_many(conn, settings, [request])
    assert job_id is not None
    raw = conn.hget(f"rq:job:{job_id}", "data")
    assert raw is not None
    payload = json.loads(zlib.decompress(raw))  # JSON all the way down: a pickle would not parse
    assert "workers.jobs.ingest_job" in json.dumps(payload)


def test_production_code_never_unpickles_or_evaluates() -> None:
    banned_modules = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"}
    found = []
    for package in PRODUCTION:
        for path in (REPO / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name.split(".")[0] for a in node.names]
                    module = getattr(node, "module", None) or ""
                    if banned_modules & {*names, module.split(".")[0]}:
                        found.append(f"{path}:{node.lineno} imports {names or module}")
                elif isinstance(node, ast.Call):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                    owner = getattr(getattr(func, "value", None), "id", "")
                    builtin = isinstance(func, ast.Name) and name in {"eval", "exec", "compile"}
                    if builtin or name == "read_pickle" or (name == "loads" and owner in banned_modules):
                        found.append(f"{path}:{node.lineno} calls {name}")
    assert not found, found


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_a_redis_password_never_reaches_logs_or_screens(tmp_path: Path, cli_env: dict[str, str]) -> None:
    password = "s3cr3t-Pa55word-in-url"
    server = ThrowawayRedis(tmp_path / "redis", password=password)
    server.start()
    settings = Settings.from_env({}, data_dir=Path(cli_env["PIPELINE_DATA_DIR"]), redis_url=server.url)
    settings.ensure_dirs()
    env = {**cli_env, "REDIS_URL": server.url, "PIPELINE_LOG_FORMAT": "json", "PIPELINE_LOG_LEVEL": "debug",
           "PIPELINE_QUIET_PERIOD_S": "0.2", "PIPELINE_RECONCILE_INTERVAL_S": "1"}  # fmt: skip
    procs = [  # one renders logs for a terminal, one as JSON: neither may show the password
        PipelineProcess(
            ["daemon"], {**env, "PIPELINE_LOG_FORMAT": "console"}, tmp_path / "daemon.log"
        ).start(),
        PipelineProcess(["worker"], env, tmp_path / "worker.log").start(),
    ]
    try:
        path, sha, _ = drop_csv(settings.raw_dir, "MES_1m.csv", rows=20)
        ledger = Ledger(settings)
        wait_for(lambda: (r := ledger.get("default", str(path), sha)) is not None and r.status == "ingested",
                 timeout_s=90, what="the file to be ingested")  # fmt: skip
        screens = [subprocess.run(["pipeline", "jobs"], env=env, capture_output=True, text=True, timeout=60)]
        server.stop()  # now every process logs connection errors, with whatever URL it holds
        time.sleep(3)
        screens.append(
            subprocess.run(["pipeline", "jobs"], env=env, capture_output=True, text=True, timeout=60)
        )
        screens.append(
            subprocess.run(
                ["pipeline", "daemon", "--once"], env=env, capture_output=True, text=True, timeout=60
            )
        )
    finally:
        for proc in procs:
            proc.kill()
        server.stop()
    outputs = [p.output() for p in procs] + [s.stdout + s.stderr for s in screens]
    assert any("ingest" in out for out in outputs[:2]), "the processes logged nothing: nothing was tested"
    assert screens[1].returncode != 0
    leaks = [
        out[max(0, out.find(password) - 200) : out.find(password) + 50] for out in outputs if password in out
    ]
    assert not leaks, leaks


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_logged_tracebacks_show_no_local_variables(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A traceback's locals would carry file contents and connection URLs with passwords."""
    from trading_pipeline.logs import configure_logging, get_logger

    configure_logging("info", fmt, "test")

    def fail(url: str) -> None:
        raise ConnectionError("cannot connect")

    secret = "-".join(["SECRET", "held", "in", "a", "local"])  # built at run time: absent from source lines
    try:
        fail(f"redis://:{secret}@127.0.0.1:1/0")
    except ConnectionError:
        get_logger("test").exception("failed")
    logged = capsys.readouterr().err
    assert "cannot connect" in logged and secret not in logged
