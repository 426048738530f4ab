"""The UI in a real browser (Debian's Chromium driven by Playwright) on the real stack: Redis, the
daemon, a worker and `pipeline ui`, each its own process on free ports.

Uploads two real vendor files through the page's file input and waits until the page itself shows both
ingested, uploads a bad file and sees its rejection, launches a run from the configure page and sees it
succeed on the monitor page, and screenshots every page; any page showing a traceback fails the test.
Set ``UI_SCREENSHOTS_DIR`` to keep the screenshots (the README's come from here).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.embedded_redis import free_port
from testkit import PipelineProcess, wait_for

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
REAL_FILES = (
    "firstratedata/NQ_1min_sample.csv",
    "nautilus_trader/gbpusd-m1-bid-2012.csv",
)
PAGES = {"upload": "", "sources": "sources", "configure": "configure", "monitor": "monitor", "queue": "queue"}
WAIT_MS = 120_000
RUN_WAIT_MS = 300_000


@pytest.fixture
def ui_url(cli_env: dict[str, str], redis_url: str, tmp_path: Path) -> Iterator[str]:
    """The stack as `pipeline up` runs it, as separate processes so the test picks every port."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`)")
    port = free_port()
    env = {**cli_env, "PIPELINE_REDIS_URL": redis_url, "PIPELINE_QUIET_PERIOD_S": "0.3"}
    procs = [
        PipelineProcess(["daemon"], env, tmp_path / "daemon.log").start(),
        PipelineProcess(["worker", "ingest", "pipeline"], env, tmp_path / "worker.log").start(),
        PipelineProcess(["ui", "--port", str(port)], env, tmp_path / "ui.log").start(),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), timeout_s=60, what="the UI to answer")
        yield url
    finally:
        for proc in procs:
            proc.kill()


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def _idle(page: object) -> None:
    """Wait until the script run is over (Streamlit's "running" widget is gone) and the page settles."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_MS
    )
    page.wait_for_timeout(1000)  # type: ignore[attr-defined]


def _shoot(page: object, name: str, folder: Path) -> None:
    _idle(page)
    body = page.inner_text("body")  # type: ignore[attr-defined]
    assert "Traceback" not in body, f"{name} shows a traceback:\n{body[:3000]}"
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_the_ui_uploads_ingests_rejects_runs_and_monitors_in_a_real_browser(
    ui_url: str, real_data: Path, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("UI_SCREENSHOTS_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    bad = tmp_path / "BAD_1m.csv"
    bad.write_text("time,price\nyesterday,1\n")
    files = [real_data / name for name in REAL_FILES]
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        expect = playwright_api.expect
        page.goto(ui_url)
        expect(page.get_by_role("heading", name="Upload data")).to_be_visible(timeout=WAIT_MS)
        page.locator("input[type=file]").set_input_files([str(f) for f in files])
        for f in files:
            expect(page.get_by_role("button", name=f"Remove {f.name}")).to_be_visible(timeout=WAIT_MS)
        _idle(page)
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.get_by_text("2 ingested")).to_be_visible(timeout=WAIT_MS)
        _shoot(page, "upload", shots)

        _idle(page)
        page.locator("input[type=file]").set_input_files([str(bad)])
        expect(page.get_by_role("button", name=f"Remove {bad.name}")).to_be_visible(timeout=WAIT_MS)
        _idle(page)
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.get_by_text("1 rejected")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("Rejected: BAD_1m.csv")).to_be_visible(timeout=WAIT_MS)

        page.goto(f"{ui_url}/sources")
        expect(page.get_by_role("heading", name="Data sources")).to_be_visible(timeout=WAIT_MS)
        _idle(page)
        page.get_by_role("tab", name="Chart").click()
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=WAIT_MS)
        _shoot(page, "sources", shots)

        page.goto(f"{ui_url}/configure")
        expect(page.get_by_text("Effective configuration")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_role("button", name="Launch run")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text("data_source = ")).to_be_visible(timeout=WAIT_MS)
        _shoot(page, "configure", shots)
        page.get_by_role("button", name="Launch run").click()
        expect(page.get_by_text("queued; follow it")).to_be_visible(timeout=WAIT_MS)

        page.goto(f"{ui_url}/monitor")
        page.wait_for_function(  # the page refreshes by itself until the run ends, either way
            "document.body.innerText.includes('Label distribution')"
            " || document.body.innerText.includes(' failed for ')",
            timeout=RUN_WAIT_MS,
        )
        body = page.inner_text("body")
        assert " failed for " not in body and "succeeded" in body, body[:3000]
        _shoot(page, "monitor", shots)

        page.goto(f"{ui_url}/queue")
        expect(page.get_by_role("heading", name="Queues")).to_be_visible(timeout=WAIT_MS)
        _shoot(page, "queue", shots)
        browser.close()
    assert sorted(p.name for p in shots.glob("*.png")) == sorted(f"{n}.png" for n in PAGES)
