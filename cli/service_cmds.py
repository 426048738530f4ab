"""Running the service: `pipeline up` (the whole stack, supervised) and `pipeline worker`."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, exits_cleanly, load_settings
from jobqueue.connect import connect, connect_settings, redacted
from jobqueue.names import DEFAULT_QUEUES
from stack.embedded_redis import EmbeddedRedis
from stack.supervisor import Supervisor, stack_services
from trading_pipeline.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("up")(up)
    app.command("worker")(worker)


@exits_cleanly
def up(
    workers: Annotated[int, typer.Option("--workers", "-w", min=0, help="RQ worker processes.")] = 2,
    redis_port: Annotated[
        int,
        typer.Option(
            envvar="PIPELINE_REDIS_PORT", min=0, help="Port of the embedded Redis; 0 picks a free one."
        ),
    ] = 0,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Do not start the web UI.")] = False,
) -> None:
    """Run everything: Redis (embedded unless REDIS_URL is set), the daemon, the workers and the web UI."""
    settings = load_settings("up")
    settings.ensure_dirs()
    embedded: EmbeddedRedis | None = None
    if settings.redis_url:
        connect(settings.redis_url, timeout_s=10).close()  # fail now, clearly, rather than restart-loop
        url = settings.redis_url
    else:
        embedded = EmbeddedRedis(settings, port=redis_port)
        embedded.prepare()
        url = embedded.url
    supervisor = Supervisor(stack_services(settings, url, workers=workers, embedded=embedded, ui=not no_ui))
    supervisor.install_signal_handlers()
    _banner(settings, url, embedded is not None, workers, ui=not no_ui)
    try:
        supervisor.run()
    finally:
        if embedded is not None:
            embedded.unpublish()


def _banner(settings: Settings, url: str, embedded: bool, workers: int, *, ui: bool) -> None:
    where = f"embedded, data in {settings.redis_dir}" if embedded else "from REDIS_URL"
    web = f"  web UI       http://{settings.ui_host}:{settings.ui_port}\n" if ui else ""
    shown = redacted(url)
    rq_url = url if shown == url else '"$REDIS_URL"'  # a password is never printed
    console.print(
        f"[bold]pipeline up[/]: daemon + {workers} worker(s){' + web UI' if ui else ''}\n"
        f"{web}"
        f"  data folder  {settings.data_dir}\n"
        f"  drop files   {settings.raw_dir}\n"
        f"  redis        {shown} ({where})\n"
        f"  watch        pipeline files  ·  pipeline jobs  ·  rq info -u {rq_url} --interval 1\n"
        f"  stop         Ctrl-C (twice to stop without waiting for running jobs)",
        highlight=False,
        soft_wrap=True,
    )


@exits_cleanly
def worker(
    queues: Annotated[list[str] | None, typer.Argument(help="Queues in priority order.")] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Exit once the queues are empty.")] = False,
    name: Annotated[str | None, typer.Option(help="Worker name (default host.pid.random).")] = None,
    scheduler: Annotated[
        bool,
        typer.Option("--with-scheduler/--without-scheduler", help="Run RQ's scheduler (Retry needs it)."),
    ] = True,
    max_jobs: Annotated[int | None, typer.Option(min=1, help="Exit after this many jobs.")] = None,
    redis_wait_s: Annotated[
        float, typer.Option(min=0, help="Wait this long for Redis at start (Procfile/systemd start order).")
    ] = 30.0,
) -> None:
    """Run one RQ worker (forking, warm parent, JSON serializer) on the given queues."""
    from workers.worker import run_worker  # imports pandas: only this command pays for it

    settings = load_settings("worker")
    connection = connect_settings(settings, timeout_s=None, wait_s=redis_wait_s)
    run_worker(
        connection,
        settings,
        queues or list(DEFAULT_QUEUES),
        burst=burst,
        name=name,
        with_scheduler=scheduler,
        max_jobs=max_jobs,
    )
