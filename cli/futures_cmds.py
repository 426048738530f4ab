"""`pipeline continuous build ROOT`: stitch a root's contracts into one series with a roll log."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, escape, exits_cleanly, load_settings, print_json

__all__ = ["continuous_app", "register"]

continuous_app = typer.Typer(
    name="continuous",
    help="Continuous futures: stitch a root's contracts at their rolls, with a roll log.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the `continuous` group to `app`."""
    app.add_typer(continuous_app, name="continuous")


@continuous_app.command("build")
@exits_cleanly
def build(
    root: Annotated[str, typer.Argument(help="Product root, e.g. MES, ES, GC, CL, 6E.")],
    roll: Annotated[str, typer.Option("--roll", help="calendar, volume or oi.")] = "calendar",
    adjust: Annotated[str, typer.Option("--adjust", help="none, difference or ratio.")] = "none",
    source: Annotated[str, typer.Option("--source", help="Data source holding the contracts.")] = "default",
    oi_lag: Annotated[
        int, typer.Option("--oi-lag", min=0, help="Sessions before open interest is published (--roll oi).")
    ] = 1,
    sessions_before: Annotated[
        int | None,
        typer.Option(
            "--sessions-before",
            min=0,
            help="Calendar deadline N sessions before last trade (first notice for deliverables); "
            "default: the product's roll (ES/MES: CME's roll date).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Build ROOT's continuous series from its contracts in a source; write the series and roll log.

    Rolls take effect at a session open, never after last trade and never back; volume and open
    interest rolls use only totals published before the roll. Adjustment is backward-anchored to the
    newest contract."""
    from trading_pipeline.futures.roll import RollRule
    from trading_pipeline.futures.service import build_from_source

    settings = load_settings()
    result = build_from_source(
        settings, root.upper(), rule=RollRule(roll, oi_lag, sessions_before), adjust=adjust, source_id=source
    )
    if as_json:
        print_json(result.to_json())
        return
    where = escape(str(result.series))
    console.print(f"[bold]{escape(result.root)}[/] continuous series: {result.rows} bars -> {where}")
    console.print(f"roll log: {escape(str(result.roll_log))} (sha256 {result.roll_log_sha256[:12]})")
    for r in result.rolls:
        console.print(
            f"  {escape(r['from'])} -> {escape(r['to'])}  effective {escape(r['effective'])}  "
            f"({escape(r['rule'])}) {escape(r['reason'])}; diff {r['difference']:g}"
            + (f", ratio {r['ratio']:.6f}" if r["ratio"] else ""),
            highlight=False,
        )
