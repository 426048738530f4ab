"""`pipeline run`, `pipeline status`, `pipeline rerun`: the research pipeline from the terminal.

Exit codes: 0 the run succeeded (or was submitted, without --wait), 1 it failed, 2 a usage error.
Progress goes to stderr, so ``--json`` leaves exactly one JSON object on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import (
    console,
    err_console,
    exits_cleanly,
    load_settings,
    print_json,
    status_with_warnings,
    styled_status,
)
from jobqueue.connect import connect_settings, resolve_url
from trading_pipeline.settings import Settings
from trading_pipeline.stages.config import TIMEFRAME_EXAMPLES, RunConfig, build_config
from trading_pipeline.stages.records import RunRecord, StageRecord
from trading_pipeline.stages.runner import check_symbols, prepare_rerun, run_inline, start_run
from trading_pipeline.stages.runs import STAGE_NAMES, is_finished, list_runs, progress, read_run
from trading_pipeline.statuses import STAGE_COMPLETED, SYMBOL_ENDED, RunStatus, StageStatus
from trading_pipeline.views.runs import run_summary

__all__ = ["register"]

TIMEFRAMES = ", ".join(t for t in TIMEFRAME_EXAMPLES if t)

Inline = Annotated[bool, typer.Option("--inline", help="Run in this process; needs no Redis or workers.")]
Wait = Annotated[bool, typer.Option("--wait", help="Block with a progress bar until the run finishes.")]
Json = Annotated[bool, typer.Option("--json", help="Print the run record as JSON.")]


@exits_cleanly
def run(
    symbols: Annotated[
        str | None, typer.Option("--symbols", help="Comma-separated; default: every symbol.")
    ] = None,
    data_source: Annotated[
        str | None, typer.Option("--data-source", help="Source id; default 'default' (data/raw).")
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option("--timeframe", help=f"Resample to e.g. {TIMEFRAMES}.")
    ] = None,
    horizons: Annotated[
        str | None, typer.Option("--horizons", help="Label horizons: bars (5,15,60) or durations (15min,1h).")
    ] = None,
    splits: Annotated[
        str | None, typer.Option("--splits", help="train,val,test ratios, e.g. 0.7,0.15,0.15.")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Keep bars opening in HH:MM-HH:MM.")
    ] = None,
    session_tz: Annotated[
        str | None, typer.Option("--session-tz", help="Zone of --session (default UTC).")
    ] = None,
    label_threshold: Annotated[
        float | None, typer.Option("--label-threshold", help="Flat band in vol*sqrt(h) units.")
    ] = None,
    min_class_share: Annotated[
        float | None, typer.Option("--min-class-share", help="Fail when a label class is rarer in train.")
    ] = None,
    min_split_rows: Annotated[
        int | None, typer.Option("--min-split-rows", help="Fewest rows each split should hold.")
    ] = None,
    min_class_rows: Annotated[
        int | None, typer.Option("--min-class-rows", help="Fewest rows per label class in each split.")
    ] = None,
    min_rows_severity: Annotated[
        str | None, typer.Option("--min-rows-severity", help="warn (default) or fail below those minimums.")
    ] = None,
    max_gap: Annotated[
        str | None,
        typer.Option("--max-gap", help="Longer without bars is a break labels never cross: auto, none, 2h."),
    ] = None,
    bad_ticks: Annotated[
        str | None, typer.Option("--bad-ticks", help="drop (default), flag or off: displaced bars in clean.")
    ] = None,
    partial_bars: Annotated[
        str | None, typer.Option("--partial-bars", help="drop (default) or keep resampled bins cut short.")
    ] = None,
    calendar: Annotated[
        str | None,
        typer.Option("--calendar", help="utc (default) or cme: CME Globex sessions for every symbol."),
    ] = None,
    continuous: Annotated[
        bool,
        typer.Option(
            "--continuous", help="Symbols are futures roots: use the `pipeline continuous build` series."
        ),
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", help="run.toml; flags override it.")] = None,
    wait: Wait = False,
    inline: Inline = False,
    as_json: Json = False,
) -> None:
    """Start a research run: load, clean, features, labels, splits for each symbol."""
    settings = load_settings()
    cfg = build_config(
        config,
        defaults=settings.run_defaults(),
        symbols=symbols,
        data_source=data_source,
        timeframe=timeframe,
        horizons=horizons,
        splits=splits,
        session=session,
        session_tz=session_tz,
        label_threshold=label_threshold,
        min_class_share=min_class_share,
        min_split_rows=min_split_rows,
        min_class_rows=min_class_rows,
        min_rows_severity=min_rows_severity,
        max_gap=max_gap,
        bad_ticks=bad_ticks,
        partial_bars=partial_bars,
        calendar=calendar,
        continuous=continuous or None,
    )
    cfg = check_symbols(settings, cfg)
    _launch(settings, cfg, wait=wait, inline=inline, as_json=as_json)


@exits_cleanly
def rerun(
    run_id: Annotated[str, typer.Argument(help="The run to repeat.")],
    from_stage: Annotated[
        str, typer.Option("--from-stage", help=f"First stage to recompute: {', '.join(STAGE_NAMES)}.")
    ] = "load",
    wait: Wait = False,
    inline: Inline = False,
    as_json: Json = False,
) -> None:
    """Repeat a run with the same config under a new run id, reusing outputs of stages before --from-stage."""
    settings = load_settings()
    cfg, old = prepare_rerun(settings, run_id, from_stage)
    if from_stage == STAGE_NAMES[0]:
        check_symbols(settings, cfg)
    _launch(settings, cfg, wait=wait, inline=inline, as_json=as_json, from_stage=from_stage, old=old)


def _launch(
    settings: Settings,
    cfg: RunConfig,
    *,
    wait: bool,
    inline: bool,
    as_json: bool,
    from_stage: str = "load",
    old: RunRecord | None = None,
) -> None:
    connection = None if inline else connect_settings(settings)
    if connection is None:
        record = start_run(settings, cfg, queued=False, from_stage=from_stage, rerun_of=old)
    else:
        from jobqueue.runs import start_queued_run

        record = start_queued_run(connection, settings, cfg, from_stage=from_stage, rerun_of=old)
    run_id = record.run_id
    if not as_json:
        err_console.print(
            f"run [bold]{run_id}[/] ({', '.join(cfg.symbols)}) {'running' if inline else 'queued'}"
        )
    if connection is None:
        with ProgressBars(record) as watch:
            record = run_inline(settings, run_id, watch)
    elif wait:
        with ProgressBars(record) as watch:
            from jobqueue.runs import wait_for_run

            record = wait_for_run(settings, run_id, connection, watch)
    else:
        if as_json:
            print_json(record.to_json())
        else:
            console.print(f"submitted {run_id}; follow it with `pipeline status {run_id}`")
        return
    _finish(record, as_json)


class ProgressBars:
    """A rich progress bar per symbol, fed with run records; lives on stderr."""

    def __init__(self, record: RunRecord) -> None:
        self.bar = Progress(
            TextColumn("{task.fields[symbol]:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
        )
        self.tasks = {
            sym: self.bar.add_task("queued", total=len(STAGE_NAMES), symbol=sym) for sym in record.symbols
        }

    def __enter__(self) -> ProgressBars:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def __call__(self, record: RunRecord, workers: int | None) -> None:
        for sym, state in record.symbols.items():
            stages = state.stages
            done = sum(s.status in STAGE_COMPLETED for s in stages.values())
            current = next(
                (n for n, s in stages.items() if s.status in (StageStatus.RUNNING, StageStatus.FAILED)), ""
            )
            label = state.status if state.status in SYMBOL_ENDED else current or "queued"
            if workers == 0 and label == "queued":
                label = "queued: no worker on the pipeline queue (start `pipeline worker` or `pipeline up`)"
            self.bar.update(self.tasks[sym], completed=done, description=label)


def _finish(record: RunRecord, as_json: bool) -> None:
    if as_json:
        print_json(record.to_json())
    else:
        _print_run(record)
    if record.status != RunStatus.SUCCEEDED:
        raise typer.Exit(1)


@exits_cleanly
def status(
    run_id: Annotated[str | None, typer.Argument(help="Show one run; default: list all runs.")] = None,
    as_json: Json = False,
) -> None:
    """List runs, or show one run's stages, timings, row counts and failure."""
    settings = load_settings()
    if run_id:
        record = _refreshed(settings, read_run(settings, run_id))
        if as_json:
            print_json(record.to_json())
        else:
            _print_run(record)
        return
    runs = list_runs(settings)
    if as_json:
        print_json({"runs": [run_summary(r).to_json() for r in runs]})
        return
    if not runs:
        console.print(f"no runs yet in {settings.runs_dir}; start one with `pipeline run --symbols ...`")
        return
    table = Table()
    table.add_column("run", no_wrap=True)  # people copy ids: never cut them
    table.add_column("status", no_wrap=True)
    for name in ("steps", "source", "symbols"):
        table.add_column(name)
    for r in runs:
        done, total = progress(r)
        warned = sum(len(sym.warnings) for sym in r.symbols.values())
        table.add_row(
            r.run_id,
            status_with_warnings(r.status, warned),
            f"{done}/{total}",
            escape(r.data_source),
            escape(",".join(r.symbols)),
        )
    console.print(table)


def _refreshed(settings: Settings, record: RunRecord) -> RunRecord:
    """An unfinished RQ run is checked against RQ first, so a job whose worker died shows as failed."""
    if record.mode != "rq" or is_finished(record) or resolve_url(settings) is None:
        return record
    from jobqueue.views import fresh_run, resolve_redis

    return fresh_run(resolve_redis(settings, timeout_s=10.0), settings, record.run_id)


def _print_run(record: RunRecord) -> None:
    done, total = progress(record)
    console.print(
        f"run [bold]{escape(record.run_id)}[/]  {record.status}  {done}/{total} steps  "
        f"source {escape(record.data_source)}  created {record.created_at}",
        highlight=False,
    )
    table = Table("symbol", "stage", "status", "seconds", "rows", "notes")
    for sym, state in record.symbols.items():
        for name in STAGE_NAMES:
            stage = state.stages[name]
            seconds = f"{stage.seconds:.2f}" if stage.seconds is not None else ""
            rows = f"{stage.rows_out:,}" if stage.rows_out is not None else ""
            table.add_row(
                escape(sym) if name == STAGE_NAMES[0] else "",
                name,
                styled_status(stage.status),
                seconds,
                rows,
                _note(stage),
            )
        if state.outputs:
            parts = ", ".join(f"{n} {o.rows:,}" for n, o in state.outputs.items())
            table.add_row("", "", "", "", "", f"outputs: {parts}")
    console.print(table)
    plan = record.split_plan
    if plan is not None:
        console.print(
            f"splits (all symbols): train {plan.train.start} .. {plan.train.end}, val {plan.val.start} .. "
            f"{plan.val.end}, test {plan.test.start} ..; purge {plan.purge}",
            highlight=False,
        )
    for sym, state in record.symbols.items():
        for warning in state.warnings:
            console.print(f"[yellow]warning[/] {escape(sym)}: {escape(warning)}", highlight=False)
    for failure in record.failures:
        console.print(
            f"[red]failed[/] {failure.stage} for {escape(failure.symbol)}: {escape(failure.reason)}",
            highlight=False,
        )


NOTES = (
    "invalid_rows_dropped",
    "breaks",
    "warmup_rows_dropped",
    "trailing_rows_dropped",
    "crossing_break_dropped",
    "label_overlap_purged",
)
"""The checks a person wants to see per stage, in the table's notes column."""


def _note(stage: StageRecord) -> str:
    if stage.reason:
        return escape(stage.reason)
    notes = [f"{key.replace('_', ' ')}: {stage.checks[key]}" for key in NOTES if key in stage.checks]
    ticks = stage.checks.get("bad_ticks")
    if isinstance(ticks, dict) and ticks.get("count"):
        notes.append(f"bad ticks {ticks['policy']}: {ticks['count']}")
    return "; ".join(notes)


def register(app: typer.Typer) -> None:
    """Add `run`, `status` and `rerun`."""
    app.command("run")(run)
    app.command("status")(status)
    app.command("rerun")(rerun)
