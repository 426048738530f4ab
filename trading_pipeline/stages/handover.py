"""The files stages hand over and deliver: Arrow IPC between stages, Parquet for train/val/test.

Hand-over files (``runs/<run_id>/<symbol>/<stage>.arrow``) are written once and read once, by the next
stage, maybe on another worker. ``load`` and ``clean`` write whole frames. ``features`` and ``labels``
write only the columns they add, with ``_row``: each row's position in the clean frame (they drop
rows, never reorder them); the next stage's input is the clean frame's rows joined with those
columns. That halves the bytes a run writes, and writing, not computing, is what a stage spent
most of its time on. They are Arrow IPC files without compression: on 2M rows of float
features, writing one takes ~4x less time than Parquet with lz4 and reading it back ~5x less (Parquet
spends its time encoding, not on the disk), for files as large as the data in memory. Runs made before
kept their hand-overs as ``<stage>.parquet``; they are still read (a rerun may link them).

The deliverables (``train/val/test.parquet``) are kept and read by other tools, so they are Parquet.
Writing them was the largest single cost of a run, so they are cut straight from the Arrow tables the
splits stage read (no pandas round trip), written in parallel threads (pyarrow releases the GIL while
it encodes), and their float columns are stored plain: lz4, a dictionary or min/max statistics
neither shrink random-looking floats nor help a reader filter them. Times, labels and categories keep
lz4, dictionaries and statistics.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trading_pipeline.durable import atomic_writer
from trading_pipeline.settings import Settings
from trading_pipeline.stages.runs import run_dir

__all__ = [
    "OUTPUT_COMPRESSION",
    "ROW",
    "read_chain",
    "read_chain_table",
    "read_frame",
    "stage_path",
    "write_deliverables",
    "write_frame",
]

HANDOVER_SUFFIX = ".arrow"
LEGACY_SUFFIX = ".parquet"
OUTPUT_COMPRESSION = "lz4"
ROW = "_row"
"""In a hand-over that holds only the columns its stage added: the row's position in the whole frame."""


def stage_path(settings: Settings, run_id: str, symbol: str, stage: str) -> Path:
    """The stage's hand-over file: ``.arrow``, or the ``.parquet`` an older run left."""
    path = run_dir(settings, run_id) / symbol / f"{stage}{HANDOVER_SUFFIX}"
    legacy = path.with_suffix(LEGACY_SUFFIX)
    return legacy if not path.exists() and legacy.exists() else path


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def write_frame(frame: pd.DataFrame, path: Path, *, added_to: pd.DataFrame | None = None) -> None:
    """A hand-over file, written atomically (temp file, fsync, rename); with ``added_to``, only the
    columns ``frame`` has beyond it, and ``_row``."""
    if added_to is not None:
        frame = frame[[c for c in frame.columns if c not in added_to.columns or c == ROW]]
    table = _table(frame)
    with (
        atomic_writer(path) as tmp,
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as writer,
    ):
        writer.write_table(table)


def _read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    if path.suffix == LEGACY_SUFFIX:
        return pq.read_table(path, columns=columns)
    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    return table.select(columns) if columns else table


def read_frame(path: Path) -> pd.DataFrame:
    """A hand-over file as a frame; columns are not consolidated into blocks (no copy)."""
    frame: pd.DataFrame = _read_table(path).to_pandas(split_blocks=True)
    return frame


def _rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """The table's rows at sorted positions ``rows``: a slice (no copy) when they are contiguous."""
    if not len(rows):
        return table.slice(0, 0)
    if rows[-1] - rows[0] + 1 == len(rows):
        return table.slice(int(rows[0]), len(rows))
    return table.take(pa.array(rows))


def read_chain(paths: list[Path], columns: list[str] | None = None) -> pd.DataFrame:
    """The input of the stage after ``paths[0]``: walk back through hand-overs of added columns
    (``paths[0]``, ``paths[1]``, ...) to a whole frame, and join them on ``_row``. ``columns`` limits
    the frame to those columns (and ``_row``)."""
    frame: pd.DataFrame = read_chain_table(paths, columns).to_pandas(split_blocks=True)
    return frame


def read_chain_table(paths: list[Path], columns: list[str] | None = None) -> pa.Table:
    """``read_chain`` as one Arrow table, ``_row`` last: the rows of the whole frame that the newest
    hand-over kept, with every column added since (slices, no copies, when no rows were dropped in
    between)."""
    tables: list[pa.Table] = []
    for path in paths:
        table = _read_table(path)
        if columns is not None:
            table = table.select([c for c in table.column_names if c in columns or c == ROW])
        tables.append(table)
        if ROW not in table.column_names:
            break
    base, added = tables[-1], tables[-2::-1]
    rows = added[-1].column(ROW).to_numpy() if added else np.arange(base.num_rows)
    parts = [_rows(base, rows)]
    for table in added:
        own = table.column(ROW).to_numpy()
        contiguous = len(own) and own[-1] - own[0] + 1 == len(own)
        at = rows - own[0] if contiguous else np.searchsorted(own, rows)  # own rows without holes: offsets
        parts.append(_rows(table.drop_columns([ROW]), at))
    names = [name for part in parts for name in part.column_names]
    arrays = [column for part in parts for column in part.columns]
    return pa.Table.from_arrays([*arrays, pa.array(rows, pa.int64())], names=[*names, ROW])


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Float columns (features, returns) are written plain: neither a dictionary, lz4 nor min/max
    statistics shrink them or help a reader filter them, and together they were a third of the write.
    Times, labels and categories keep all three."""
    floats = {f.name for f in table.schema if pa.types.is_floating(f.type)}
    others = [name for name in table.column_names if name not in floats]
    codecs = {name: "none" if name in floats else OUTPUT_COMPRESSION for name in table.column_names}
    with atomic_writer(path) as tmp:
        pq.write_table(table, tmp, compression=codecs, use_dictionary=others, write_statistics=others)


def write_deliverables(table: pa.Table, rows: dict[str, np.ndarray], folder: Path) -> None:
    """``<name>.parquet`` per ``name: sorted row positions`` of ``table``, written side by side."""
    with ThreadPoolExecutor(max_workers=len(rows)) as pool:
        jobs = [
            pool.submit(_write_parquet, _rows(table, at), folder / f"{name}.parquet")
            for name, at in rows.items()
        ]
        for job in jobs:
            job.result()
