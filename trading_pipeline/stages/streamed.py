"""`load` and `clean` in bounded memory, for runs that resample (``--timeframe 5min`` or coarser).

A symbol of 100M one-minute bars is several GB as a frame, but only a fifth of that once resampled to
five minutes. So when a run resamples, `load` copies the stored Parquet to its hand-over batch by
batch (row groups, at most ``run_batch_rows`` rows), and `clean` reads that hand-over twice, batch by
batch: once for the input interval (an exact median, from a count of each spacing), once to filter,
judge bad ticks and resample. Only the resampled bars are ever whole.

Every value equals the whole-frame code's, which these functions call on each batch with what crosses
a batch boundary carried along: the previous bar (for breaks), the ``bad_tick_window + 1`` bars before
the batch (the bad-tick rule looks that far back), and the bars of the last bin, which the next batch
may continue. Where that is not possible the whole-frame path runs instead: several stored files (they
must be merged), bars that are not in time order (they must be sorted), a session calendar on the
context, or a timeframe equal to the input's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.durable import atomic_writer
from trading_pipeline.schema import BAR_COLUMNS
from trading_pipeline.stages.bars import (
    INVALID_FLAG,
    _breaks,
    apply_ticks,
    conform_loaded,
    finish_clean,
    listed_ticks,
    partial_bins,
    report_ticks,
    resample_part,
    session_mask,
    target_bar,
    valid_rows,
)
from trading_pipeline.stages.base import StageContext
from trading_pipeline.stages.ticks import MAX_LISTED, bad_tick_mask

__all__ = ["stream_clean", "stream_load"]


class _Unsorted(Exception):
    """The source's bars go back in time: the whole-frame path sorts them."""


def stream_load(ctx: StageContext, path: Path, batch_rows: int) -> int | None:
    """Write the symbol's bars to the `load` hand-over ``path`` batch by batch; the rows written, or
    None when the source cannot give sorted batches (the caller then loads them whole)."""
    if ctx.loader is None or ctx.sessions is not None:
        return None
    batches = getattr(ctx.loader, "batches_with_lineage", None)
    got = batches(ctx.symbol, batch_rows) if batches is not None else None
    if got is None:
        return None
    frames, inputs = got
    try:
        rows, first, last = _write_batches(ctx, frames, path)
    except _Unsorted:
        return None
    ctx.inputs = inputs
    ctx.checks.update(rows=rows, start=str(first), end=str(last))
    return rows


def _write_batches(
    ctx: StageContext, frames: Iterator[pd.DataFrame], path: Path
) -> tuple[int, pd.Timestamp, pd.Timestamp]:
    """Conform and write each batch; a failure leaves no hand-over behind (the temp file goes)."""
    rows = duplicated = 0
    first = last = None
    schema: pa.Schema | None = None
    with atomic_writer(path) as tmp, pa.OSFile(str(tmp), "wb") as sink:
        writer: pa.ipc.RecordBatchFileWriter | None = None
        for raw in frames:
            if not len(raw):
                continue
            frame = conform_loaded(raw, ctx).reset_index(drop=True)
            times = frame["datetime"].array.asi8
            steps = np.diff(times) if last is None else np.diff(np.r_[last.value, times])
            if (steps < 0).any():
                raise _Unsorted
            duplicated += int((steps == 0).sum())
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                schema = table.schema
                writer = pa.ipc.new_file(sink, schema)
            writer.write_table(table.cast(schema))
            first = frame["datetime"].iloc[0] if first is None else first
            last = frame["datetime"].iloc[-1]
            rows += len(frame)
        if writer is None or first is None or last is None:
            ctx.fail("the source holds no bars for this symbol")
        if duplicated:
            ctx.fail(f"{duplicated} duplicate timestamps in the source bars")
        writer.close()
    return rows, first, last


def _read_batches(path: Path) -> Iterator[pd.DataFrame]:
    """A hand-over's batches as frames, one at a time (an older run's Parquet by row groups)."""
    if path.suffix == ".parquet":
        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches():
                yield batch.to_pandas()
        return
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i).to_pandas()


def _kept(frame: pd.DataFrame, ctx: StageContext) -> tuple[pd.DataFrame, int, int]:
    """The batch's rows `clean` keeps (valid, in the session), and how many each filter dropped."""
    ok = valid_rows(frame)
    out = frame[list(BAR_COLUMNS)] if ok.all() else frame.loc[ok, list(BAR_COLUMNS)]
    outside = 0
    if ctx.config.session:
        keep = session_mask(out["datetime"], ctx.config.session, ctx.config.session_tz)
        outside = int((~keep).sum())
        out = out.loc[keep]
    return out.reset_index(drop=True), int((~ok).sum()), outside


def _spacing(path: Path, ctx: StageContext) -> tuple[int, int, int, set[str], pd.Timedelta]:
    """First pass: rows in, rows dropped by each filter, extra columns, and the input interval (the
    median spacing of the kept bars, as ``native_interval`` computes it on the whole frame)."""
    rows_in = invalid = outside = kept = 0
    columns: set[str] = set()
    counts: Counter[int] = Counter()
    previous: int | None = None
    for frame in _read_batches(path):
        rows_in += len(frame)
        columns.update(frame.columns)
        out, bad, away = _kept(frame, ctx)
        invalid, outside, kept = invalid + bad, outside + away, kept + len(out)
        times = out["datetime"].array.asi8
        if len(times):
            steps = np.diff(times) if previous is None else np.diff(np.r_[previous, times])
            values, found = np.unique(steps, return_counts=True)
            counts.update(dict(zip(values.tolist(), found.tolist(), strict=True)))
            previous = int(times[-1])
    return rows_in, invalid, outside, columns, _median(counts, kept)


def _median(counts: Counter[int], kept: int) -> pd.Timedelta:
    """``np.median`` of the spacings, from how often each occurs (the same float rounding)."""
    if kept < 2:
        return pd.Timedelta(0)
    ordered = sorted(counts)
    cumulative = np.cumsum([counts[v] for v in ordered])
    n = kept - 1
    middle = [ordered[int(np.searchsorted(cumulative, k, side="right"))] for k in {(n - 1) // 2, n // 2}]
    return pd.Timedelta(int(np.median(np.array(middle, dtype=np.int64))), "ns")


@dataclass
class _Carry:
    """What one batch hands the next: bars the rules still look back at, and the unfinished bin."""

    previous: pd.DataFrame | None = None
    """The last ``bad_tick_window + 1`` kept bars, before bad ticks were taken out."""
    pending: pd.DataFrame | None = None
    """Bars of the last bin, not yet resampled (bad ticks already taken out)."""
    pending_gap: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    last_open: int | None = None
    """The open of the last bar that entered ``pending`` (for the break before the next one)."""
    started: bool = False
    bad_count: int = 0
    listed: list[dict[str, Any]] = field(default_factory=list)
    parts: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]] = field(default_factory=list)


def _gap_before(out: pd.DataFrame, ctx: StageContext, bar_ns: int, last_open: int | None) -> np.ndarray:
    """Breaks before each bar of ``out``, the bar before it (``last_open``) included."""
    if last_open is None:
        return _breaks(out, ctx, bar_ns)
    head = pd.DataFrame({"datetime": pd.to_datetime([last_open], utc=True).as_unit("ns")})
    both = pd.concat([head, out[["datetime"]]], ignore_index=True)
    return _breaks(both, ctx, bar_ns)[1:]


def _ticks(out: pd.DataFrame, ctx: StageContext, native_ns: int, carry: _Carry) -> pd.DataFrame:
    """Judge the batch's bars with the bars before them in view; drop or flag the bad ones."""
    cfg = ctx.config
    if cfg.bad_ticks == "off":
        return out
    before = carry.previous if carry.previous is not None else out.iloc[0:0]
    both = pd.concat([before, out], ignore_index=True) if len(before) else out
    gap = _breaks(both, ctx, native_ns)
    bad, reference = bad_tick_mask(both, gap, cfg.bad_tick_window, cfg.bad_tick_threshold)
    bad, reference = bad[len(before) :], reference[len(before) :]
    carry.previous = both.iloc[-(cfg.bad_tick_window + 1) :].reset_index(drop=True)
    room = MAX_LISTED - len(carry.listed)
    if room > 0:
        carry.listed += listed_ticks(out, bad, reference, room)
    carry.bad_count += int(bad.sum())
    return apply_ticks(out, bad, cfg.bad_ticks)


def _resample_batch(out: pd.DataFrame, ctx: StageContext, native_ns: int, carry: _Carry, end: bool) -> None:
    """Resample every bin of pending + ``out`` that is finished; keep the last one pending."""
    gap = _gap_before(out, ctx, native_ns, carry.last_open)
    if len(out):
        carry.last_open = int(out["datetime"].array.asi8[-1])
    bars = pd.concat([carry.pending, out], ignore_index=True) if carry.pending is not None else out
    gaps = np.r_[carry.pending_gap, gap]
    step = int(pd.Timedelta(str(ctx.config.timeframe)).value)
    keys = bars["datetime"].array.asi8 // step
    cut = len(bars) if end else int(np.searchsorted(keys, keys[-1], side="left")) if len(keys) else 0
    if cut:
        part = bars.iloc[:cut].reset_index(drop=True)
        after = True if cut == len(bars) else bool(gaps[cut])
        carry.parts.append(
            resample_part(
                part, ctx.config, native_ns, gaps[:cut], at_start=not carry.started, break_after=after
            )
        )
        carry.started = True
    carry.pending, carry.pending_gap = bars.iloc[cut:].reset_index(drop=True), gaps[cut:]


def stream_clean(path: Path, ctx: StageContext) -> tuple[pd.DataFrame, int] | None:
    """`clean` over the `load` hand-over ``path`` a batch at a time: the clean bars and the rows read,
    or None when the run does not resample them (the caller then cleans the whole frame)."""
    if not ctx.config.timeframe or ctx.sessions is not None:
        return None
    rows_in, invalid, outside, columns, native = _spacing(path, ctx)
    kept = rows_in - invalid - outside
    ctx.checks["invalid_rows_dropped"] = invalid
    ctx.checks["extra_columns_dropped"] = sorted(columns - set(BAR_COLUMNS) - {INVALID_FLAG})
    if ctx.config.session:
        ctx.checks["outside_session_dropped"] = outside
    if kept < 2:
        ctx.fail(f"{kept} bars left after dropping invalid rows and the session: need at least 2")
    ctx.checks["input_interval"] = str(native)
    bar = target_bar(native, ctx)
    if bar == native:
        return None
    carry = _Carry()
    for frame in _read_batches(path):
        out, _, _ = _kept(frame, ctx)
        _resample_batch(_ticks(out, ctx, native.value, carry), ctx, native.value, carry, end=False)
    _resample_batch(_empty_like(carry), ctx, native.value, carry, end=True)
    if ctx.config.bad_ticks != "off":
        report_ticks(ctx, carry.bad_count, carry.listed)
    if not carry.parts:
        ctx.fail("no bars left after cleaning")
    frames, complete, minutes = zip(*carry.parts, strict=True)
    bars: pd.DataFrame = pd.concat(frames, ignore_index=True)
    out = partial_bins(bars, np.concatenate(complete), np.concatenate(minutes), ctx)
    return finish_clean(out, ctx, bar), rows_in


def _empty_like(carry: _Carry) -> pd.DataFrame:
    assert carry.pending is not None
    return carry.pending.iloc[0:0]
