"""Fixtures for worker tests: real `pipeline worker` subprocesses against the session's redis-server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testkit import PipelineProcess
from trading_pipeline.settings import Settings

Spawn = Callable[..., PipelineProcess]


@pytest.fixture
def worker_env(cli_env: dict[str, str], redis_url: str) -> dict[str, str]:
    """The environment of a worker (or any `pipeline` command) using the test Redis, JSON logs."""
    return {**cli_env, "PIPELINE_REDIS_URL": redis_url, "PIPELINE_LOG_FORMAT": "json"}


@pytest.fixture
def queue_settings(settings: Settings, redis_url: str) -> Settings:
    return settings.replace(redis_url=redis_url)


@pytest.fixture
def spawn(tmp_path: Path, worker_env: dict[str, str]) -> Iterator[Spawn]:
    """Start `pipeline ARGS...` in the background; every process is SIGKILLed (with its horses) at the end."""
    started: list[PipelineProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> PipelineProcess:
        log = tmp_path / "logs" / f"{len(started)}-{args[0]}.log"
        proc = PipelineProcess(args, {**worker_env, **(env or {})}, log).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
