"""`pipeline continuous build`: find a root's contracts in a data source, build, record in the ledger.

Outputs go to ``data/continuous/<source>/<ROOT>/<ROOT>_<rule>_<adjust>.parquet`` and ``.rolls.json``;
the ledger's ``builds`` table records each build with both hashes, so a research run can name the roll
log it used.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from trading_pipeline.errors import FuturesError
from trading_pipeline.futures.continuous import ContinuousBuild, build_continuous
from trading_pipeline.futures.products import get_product
from trading_pipeline.futures.roll import RollRule
from trading_pipeline.futures.symbols import Contract, parse_symbol, vendor_continuous
from trading_pipeline.ledger import BuildRecord, Ledger
from trading_pipeline.settings import Settings
from trading_pipeline.sources.base import InputFile

__all__ = [
    "BUILD_KIND",
    "ContinuousLoader",
    "build_from_source",
    "continuous_dir",
    "latest_build",
    "load_continuous",
]

BUILD_KIND = "continuous"


def continuous_dir(settings: Settings, source_id: str, root: str) -> Path:
    return settings.data_dir / "continuous" / source_id / root


def _contracts(source: Any, root: str) -> tuple[dict[Contract, pd.DataFrame], dict[str, list[str]]]:
    """Every stored symbol of ``source`` that names a contract of ``root``, loaded; vendor-continuous
    symbols of the root are skipped (never stitched again)."""
    bars: dict[Contract, pd.DataFrame] = {}
    hashes: dict[str, list[str]] = {}
    seen: dict[Contract, str] = {}
    prefix = re.compile(rf"^@?{re.escape(root)}", re.IGNORECASE)
    for symbol in source.get_available_symbols():
        if not prefix.match(symbol) or vendor_continuous(symbol) is not None:
            continue
        frame, lineage = source.load_with_lineage(symbol)
        if frame.empty:
            continue
        first = pd.Timestamp(frame["datetime"].iloc[0]).date()
        last = pd.Timestamp(frame["datetime"].iloc[-1]).date()
        contract = parse_symbol(symbol, first, last)
        if contract is None or contract.root != root:
            continue
        if contract in seen:
            raise FuturesError(f"symbols {seen[contract]} and {symbol} both name {contract.code}: keep one")
        seen[contract] = symbol
        bars[contract] = frame
        hashes[contract.code] = sorted(f.sha256 for f in lineage)
    return bars, hashes


def build_from_source(
    settings: Settings, root: str, *, rule: RollRule, adjust: str, source_id: str = "default"
) -> ContinuousBuild:
    from trading_pipeline.sources import DataSourceRepository

    root = get_product(root).root
    source = DataSourceRepository(settings).get_source(source_id)
    bars, hashes = _contracts(source, root)
    if not bars:
        raise FuturesError(
            f"source {source_id} holds no {root} contracts (symbols such as {root}H5, {root}M25)"
        )
    out_dir = continuous_dir(settings, source_id, root)
    build = build_continuous(
        root, bars, out_dir, rule=rule, adjust=adjust, source_id=source_id, input_hashes=hashes
    )
    Ledger(settings).record_build(
        BuildRecord(
            BUILD_KIND,
            root,
            source_id,
            str(build.series),
            str(build.roll_log),
            build.roll_log_sha256,
            build.series_sha256,
            build.rows,
        )
    )
    return build


def latest_build(settings: Settings, root: str, source_id: str) -> BuildRecord:
    builds = [b for b in Ledger(settings).builds(BUILD_KIND, root) if b.source_id == source_id]
    if not builds:
        raise FuturesError(
            f"no continuous {root} series built from source {source_id}: run "
            f"`pipeline continuous build {root} --source {source_id}` first"
        )
    return builds[-1]


def load_continuous(record: BuildRecord) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The stitched bars (canonical columns) and the roll log of a recorded build."""
    frame = pd.read_parquet(record.output)
    log = json.loads(Path(record.log).read_text())
    frame["datetime"] = pd.to_datetime(frame["datetime"], utc=True)
    return frame, log


class ContinuousLoader:
    """Bars of a root's newest continuous build (a ``stages.source.BarLoader``): `pipeline run
    --continuous`. The lineage is the roll log and the series with their hashes, so run.json names the
    exact rolls the run used."""

    def __init__(self, settings: Settings, source_id: str) -> None:
        self.settings = settings
        self.source_id = source_id

    def load_with_lineage(self, symbol: str) -> tuple[pd.DataFrame, list[InputFile]]:
        record = latest_build(self.settings, symbol, self.source_id)
        frame, _ = load_continuous(record)
        return frame, [
            InputFile(record.log, record.log_sha256),
            InputFile(record.output, record.output_sha256),
        ]

    def get_available_symbols(self) -> list[str]:
        builds = Ledger(self.settings).builds(BUILD_KIND)
        return sorted({b.name for b in builds if b.source_id == self.source_id})
