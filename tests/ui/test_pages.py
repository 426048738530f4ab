"""Every page renders, says what to do when empty, and does what its buttons say (streamlit AppTest on
the real app, a real data folder and a real Redis)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry
from streamlit.testing.v1 import AppTest

from jobqueue.names import INGEST_QUEUE, SERIALIZER
from testkit import PipelineProcess, RunningDaemon, csv_bytes, ledger_rows, make_settings, wait_for
from tests.ui.conftest import ingest_csv, texts
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import RunConfig
from trading_pipeline.stages.runner import run_inline, start_run
from trading_pipeline.stages.runs import list_runs
from trading_pipeline.views.sources import source_summaries

Open = Callable[[str | None], AppTest]
PAGES = ["upload", "sources", "configure", "monitor", "queue"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_empty_with_what_to_do(open_page: Open, page: str) -> None:
    at = open_page(page)
    said = texts(at)
    assert at.title[0].value
    if page in ("sources", "configure", "queue"):
        assert "data/raw" in said
    if page == "monitor":
        assert "No runs yet" in said


def test_the_app_is_titled_and_starts_on_upload(open_page: Open) -> None:
    at = open_page(None)
    assert at.title[0].value == "Upload data"
    assert "Trading Pipeline Manager" in [t.value for t in at.sidebar.title]
    assert "1,024 MB" in texts(at)  # the upload limit is stated on the page


def test_upload_saves_a_session_and_follows_it_without_a_daemon(
    open_page: Open, ui_settings: Settings
) -> None:
    at = open_page("upload")
    at.file_uploader[0].set_value(
        [("MES_1m.csv", csv_bytes(80), "text/csv"), ("[x](y) _z_ $a$.csv", b"a,b\n1,2\n", "text/csv")]
    ).run()
    at.button[0].click().run()
    assert not at.exception
    said = texts(at)
    assert "Saved 2 file" in said
    sessions = [s.meta.source_id for s in source_summaries(ui_settings) if s.meta.source_type == "upload"]
    assert len(sessions) == 1
    files = sorted(p.name for p in (ui_settings.uploads_dir / sessions[0] / "files").iterdir())
    assert files == ["MES_1m.csv", "[x](y) _z_ $a$.csv"]
    table = at.dataframe[0].value
    assert list(table["status"]) == ["saved", "saved"]
    assert "waiting for the daemon" in table["reason or warning"].iloc[0]
    assert not any("](y)" in m.value for m in at.markdown)  # a file name never becomes a link


def test_upload_with_redis_down_says_the_files_are_saved(
    open_page: Open, monkeypatch: pytest.MonkeyPatch, ui_settings: Settings
) -> None:
    monkeypatch.setenv("PIPELINE_REDIS_URL", "redis://127.0.0.1:1/0")
    at = open_page("upload")
    at.file_uploader[0].set_value(("MES_1m.csv", csv_bytes(50), "text/csv")).run()
    at.button[0].click().run()
    assert not at.exception
    assert "will be ingested when the daemon runs" in texts(at)


def test_check_only_reports_and_stores_nothing(open_page: Open, ui_settings: Settings) -> None:
    at = open_page("upload")
    at.file_uploader[0].set_value(
        [("MES_1m.csv", csv_bytes(80), "text/csv"), ("BAD_1m.csv", b"time,price\nx,1\n", "text/csv")]
    ).run()
    at.toggle(key="upload_check_only").set_value(True).run()
    at.button[0].click().run()
    assert not at.exception
    said = texts(at)
    assert "validated" in said and "rejected" in said
    assert "Why it was refused" in said
    assert not [s for s in source_summaries(ui_settings) if s.meta.source_type == "upload"]


def test_sources_page_previews_charts_activates_and_removes(open_page: Open, ui_settings: Settings) -> None:
    ingest_csv(ui_settings, "MES_1m.csv", csv_bytes(500))
    from trading_pipeline import actions

    upload = actions.upload_files(ui_settings, [actions.UploadFile("MGC_1m.csv", csv_bytes(30, seed=2))])
    at = open_page("sources")
    listing = at.dataframe[0].value
    assert set(listing["source"]) == {"default", upload.session_id}
    assert "MES" in listing[listing["source"] == "default"]["symbols"].iloc[0]
    preview = at.dataframe[1].value
    assert len(preview) == 20 and "close" in preview.columns
    at.selectbox(key="sources_pick").select(upload.session_id).run()
    at.button(key="sources_activate").click().run()
    assert "is now the active source" in texts(at)
    assert [s.meta.source_id for s in source_summaries(ui_settings) if s.active] == [upload.session_id]
    at.checkbox(key=f"sources_confirm_{upload.session_id}").check().run()
    at.button(key="sources_remove").click().run()
    assert not at.exception
    assert f"removed {upload.session_id}".replace("_", "\\_") in texts(at)
    assert upload.session_id not in {s.meta.source_id for s in source_summaries(ui_settings)}


def test_configure_shows_toml_and_splits_refuses_and_launches(open_page: Open, ui_settings: Settings) -> None:
    ingest_csv(ui_settings, "MES_1m.csv", csv_bytes(3000, seed=4))
    at = open_page("configure")
    toml = at.code[0].value
    assert toml.startswith("[run]") and 'symbols = ["MES"]' in toml
    assert list(at.dataframe[0].value["split"]) == ["train", "val", "test"]
    at.number_input(key="cfg_train").set_value(0.95).run()
    assert "cannot run" in texts(at) and "splits" in texts(at)
    assert not at.button  # nothing can be launched
    at.number_input(key="cfg_train").set_value(0.7).run()
    at.button(key="cfg_launch").click().run()
    assert not at.exception
    runs = list_runs(ui_settings)
    assert len(runs) == 1 and runs[0].config.symbols == ("MES",) and runs[0].mode == "rq"
    assert "queued" in texts(at)


def _finished_run(settings: Settings) -> str:
    ingest_csv(settings, "MES_1m.csv", csv_bytes(3000, seed=5))
    record = start_run(settings, RunConfig(symbols=("MES",), min_class_share=0.0), queued=False)
    run_inline(settings, record.run_id)
    return record.run_id


def test_monitor_shows_a_finished_run_with_labels_downloads_and_reruns(
    open_page: Open, ui_settings: Settings
) -> None:
    run_id = _finished_run(ui_settings)
    at = open_page("monitor")
    assert at.dataframe[0].value["run"].iloc[0] == run_id
    assert at.dataframe[0].value["status"].iloc[0] == "succeeded"
    stages = at.dataframe[1].value
    assert list(stages.loc["MES"]) == ["done"] * 5
    labels = [d.label for d in at.get("download_button")]
    assert any("run.json" in str(label) for label in labels) and any(
        "train.parquet" in str(x) for x in labels
    )
    at.selectbox(key="mon_from_stage").select("labels").run()
    at.button(key="mon_rerun").click().run()
    assert not at.exception
    runs = list_runs(ui_settings)
    assert len(runs) == 2 and runs[0].rerun_of == run_id and runs[0].from_stage == "labels"


def test_monitor_shows_a_failure_with_stage_symbol_and_reason(open_page: Open, ui_settings: Settings) -> None:
    ingest_csv(ui_settings, "MES_1m.csv", csv_bytes(3000, seed=6))
    record = start_run(ui_settings, RunConfig(symbols=("MES",), min_class_share=0.9), queued=False)
    run_inline(ui_settings, record.run_id)
    at = open_page("monitor")
    errors = [e.value for e in at.error]
    assert any("splits failed for MES" in e and "class" in e for e in errors), errors


def test_queue_page_lists_failed_jobs_and_requeues_and_deletes(
    open_page: Open, ui_settings: Settings, conn: redis.Redis
) -> None:
    ingest_csv(ui_settings, "BAD_1m.csv", b"a,b\n1,2\n")
    queue = Queue(INGEST_QUEUE, connection=conn, serializer=SERIALIZER)
    for i in range(2):  # real failures: a worker runs jobs that raise
        queue.enqueue("json.loads", "{not json", job_id=f"broken-{i}")
    SimpleWorker([queue], connection=conn, serializer=SERIALIZER).work(burst=True)
    registry = FailedJobRegistry(queue=queue, serializer=SERIALIZER)
    assert registry.get_job_count(cleanup=False) == 2
    at = open_page("queue")
    said = texts(at)
    assert "No worker is running" in said
    assert "JSONDecodeError" in " ".join(e.label for e in at.expander)
    assert "rejected" in [m.label for m in at.metric]
    assert len(at.dataframe[-1].value) == 1  # the latest rejections
    at.button(key="q_requeue_0").click().run()
    assert "requeued" in texts(at)
    at.button(key="q_delete_0").click().run()
    assert "deleted" in texts(at)
    assert registry.get_job_count(cleanup=False) == 0 and queue.count == 1


def test_upload_follows_files_to_ingested_and_rejected_with_the_real_daemon_and_worker(
    open_page: Open, ui_settings: Settings, conn: redis.Redis, cli_env: dict[str, str], tmp_path: Path
) -> None:
    at = open_page("upload")
    at.file_uploader[0].set_value(
        [("MES_1m.csv", csv_bytes(200), "text/csv"), ("BAD_1m.csv", b"time,price\nx,1\n", "text/csv")]
    ).run()
    at.button[0].click().run()
    watched = make_settings(ui_settings.data_dir, str(ui_settings.redis_url))
    env = {**cli_env, "PIPELINE_REDIS_URL": str(ui_settings.redis_url)}
    with RunningDaemon(watched, conn):
        wait_for(lambda: len(ledger_rows(watched)) == 2, timeout_s=30, what="the daemon to see both files")
        worker = PipelineProcess(["worker", "--burst", "ingest"], env, tmp_path / "worker.log").start()
        try:
            wait_for(
                lambda: {r.status for r in ledger_rows(watched)} == {"ingested", "rejected"},
                timeout_s=90, what="both files final",
            )  # fmt: skip
        finally:
            worker.terminate()
    at.run()  # what the page's own 2 s refresh does in a browser (AppTest never ticks run_every)
    table = at.dataframe[0].value
    assert dict(zip(table["file"], table["status"], strict=True)) == {
        "MES_1m.csv": "ingested",
        "BAD_1m.csv": "rejected",
    }
    assert any("Rejected" in e.label for e in at.expander)
    assert "Why it was refused" in texts(at)


def test_with_redis_down_the_queue_page_says_so_and_configure_will_not_launch(
    open_page: Open, monkeypatch: pytest.MonkeyPatch, ui_settings: Settings
) -> None:
    ingest_csv(ui_settings, "MES_1m.csv", csv_bytes(3000, seed=7))
    monkeypatch.setenv("PIPELINE_REDIS_URL", "redis://127.0.0.1:1/0")
    queue = open_page("queue")
    assert "Redis is down" in texts(queue)
    assert "ingested" in [m.label for m in queue.metric]  # the ledger still answers
    configure = open_page("configure")
    assert "Runs need Redis and a worker" in texts(configure)
    assert not configure.button
