"""Merging one symbol's bars from several stored files into one time-ordered frame.

Two files may overlap (a monthly export and a yearly one, a re-download). A bar present in both is kept
once when the two agree; when they disagree no file is more right than the other, so the load fails
with ``ConflictingBarsError`` naming both files. "Agree" means equal in every column that both files
have a value for: a file without ``vwap`` does not contradict one with it, and the value is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from trading_pipeline.errors import ConflictingBarsError

__all__ = ["merge_bars"]

_FILE = "__file__"


def merge_bars(symbol: str, parts: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Concatenate ``(file_name, bars)`` parts in time order; identical overlaps merge, conflicts raise."""
    frames = [df for _, df in parts if len(df)]
    if not frames:
        return parts[0][1].iloc[0:0].reset_index(drop=True) if parts else pd.DataFrame()
    if len(frames) == 1:
        return _sorted(frames[0])
    tagged = [df.assign(**{_FILE: np.int32(i)}) for i, (_, df) in enumerate(parts) if len(df)]
    names = [name for name, df in parts if len(df)]
    combined = pd.concat(tagged, ignore_index=True)
    combined = combined.sort_values(["datetime", _FILE], kind="stable", ignore_index=True)
    dup = combined["datetime"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return combined.drop(columns=_FILE)
    overlap = combined.loc[dup]
    _raise_on_conflict(symbol, overlap, names)
    resolved = overlap.groupby("datetime", sort=False, as_index=False).first()
    merged = pd.concat([combined.loc[~dup], resolved], ignore_index=True)
    merged = merged.sort_values("datetime", kind="stable", ignore_index=True).drop(columns=_FILE)
    return merged[list(combined.columns.drop(_FILE))]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    if df["datetime"].is_monotonic_increasing:
        return df.reset_index(drop=True)
    return df.sort_values("datetime", kind="stable", ignore_index=True)


def _raise_on_conflict(symbol: str, overlap: pd.DataFrame, names: list[str]) -> None:
    """Find timestamps where two files give different non-null values for the same column."""
    grouped = overlap.groupby("datetime", sort=True)
    value_columns = [c for c in overlap.columns if c not in ("datetime", _FILE)]
    differs = pd.Series(False, index=grouped.size().index)
    for column in value_columns:
        differs |= grouped[column].nunique(dropna=True) > 1
    if not differs.any():
        return
    bad_times = differs[differs].index
    first = bad_times[0]
    rows = overlap[overlap["datetime"] == first]
    files = _disagreeing_files(rows, value_columns)
    raise ConflictingBarsError(
        symbol=symbol,
        count=len(bad_times),
        first_file=names[files[0]],
        second_file=names[files[1]],
        timestamp=pd.Timestamp(first).isoformat(),
    )


def _disagreeing_files(rows: pd.DataFrame, columns: list[str]) -> tuple[int, int]:
    """The first pair of files (by ingest order) whose bars at one timestamp differ."""
    records = rows.to_dict("records")
    for i, first in enumerate(records):
        for second in records[i + 1 :]:
            if any(_differ(first[c], second[c]) for c in columns):
                return int(first[_FILE]), int(second[_FILE])
    return int(records[0][_FILE]), int(records[-1][_FILE])


def _differ(a: Any, b: Any) -> bool:
    return not (pd.isna(a) or pd.isna(b)) and a != b
