"""Generate the hostile corpus: files a drop folder may receive, each with the outcome it must get.

    python tests/corpus/generate.py OUT_DIR      # writes the files and OUT_DIR/manifest.json

Every case is ``(class, name, expected status, expected check)``; test_corpus.py ingests each file with
the real DataIngestor and compares. Nothing here is copied from vendor data: every byte is generated,
so the corpus is reproducible and free to ship.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

HEADER = "datetime,open,high,low,close,volume\n"


def rows(n: int, start: int = 0) -> str:
    return "".join(
        f"2024-01-02 {(start + i) // 60 % 24:02d}:{(start + i) % 60:02d}:00,{100 + i},{101 + i},{99 + i},{100.5 + i},{i + 1}\n"
        for i in range(n)
    )


VALID = HEADER + rows(30)


@dataclass(frozen=True)
class Case:
    kind: str
    """The class of input (the README's reliability table groups by it)."""
    name: str
    status: str
    check: str = ""
    """The check of the first error (rejections) or of the refusal; empty for ingested files."""


Writer = Callable[[Path], None]
CASES: list[tuple[Case, Writer]] = []


def case(kind: str, name: str, status: str, check: str = "") -> Callable[[Writer], Writer]:
    def register(write: Writer) -> Writer:
        CASES.append((Case(kind, name, status, check), write))
        return write

    return register


def text(kind: str, name: str, content: str | bytes, status: str, check: str = "") -> None:
    data = content.encode() if isinstance(content, str) else content
    CASES.append((Case(kind, name, status, check), lambda p: p.write_bytes(data)))


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _zip(members: dict[str, str]) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return sink.getvalue()


def _build() -> None:
    valid_parquet = _parquet(
        pa.table({
            "datetime": pa.array([1704186000 + 60 * i for i in range(30)], pa.int64()).cast(pa.timestamp("s", "UTC")),
            "open": [1.0] * 30, "high": [2.0] * 30, "low": [0.5] * 30, "close": [1.5] * 30, "volume": [10.0] * 30,
        })
    )  # fmt: skip
    # Valid layouts (the baseline: they must still be ingested).
    text("valid layouts", "MES_1m.csv", VALID, "ingested")
    text("valid layouts", "MES_tab_1m.tsv", VALID.replace(",", "\t"), "ingested")
    text("valid layouts", "MES_semi_1m.txt", VALID.replace(",", ";"), "ingested")
    text("valid layouts", "MES_1m.csv.gz", gzip.compress(VALID.encode()), "ingested")
    text("valid layouts", "MES_1m.csv.zst", zstandard.ZstdCompressor().compress(VALID.encode()), "ingested")
    text("valid layouts", "MES_1m.parquet", valid_parquet, "ingested")
    text("valid layouts", "MES_crlf_1m.csv", VALID.replace("\n", "\r\n"), "ingested")
    text("valid layouts", "MES_bom_1m.csv", "\ufeff" + VALID, "ingested")
    text("valid layouts", "MES_1m.zip", _zip({"MES_1m.csv": VALID}), "ingested")
    # Binary junk under data extensions.
    for ext in ("csv", "txt", "parquet", "zip", "dbn", "gz", "zst"):
        text(
            "binary junk", f"JUNK_{ext}_1m.{ext}", os.urandom(0) + bytes(range(256)) * 8, "rejected", "format"
        )
    # Truncated containers.
    text(
        "truncated containers",
        "TRUNC_1m.parquet",
        valid_parquet[: len(valid_parquet) // 2],
        "rejected",
        "parquet",
    )
    text(
        "truncated containers",
        "TRUNC_1m.csv.gz",
        gzip.compress(VALID.encode())[:60],
        "rejected",
        "compression",
    )
    zst = zstandard.ZstdCompressor().compress((HEADER + rows(2000)).encode())
    text("truncated containers", "TRUNC_1m.csv.zst", zst[: len(zst) // 2], "rejected", "compression")
    text("truncated containers", "TRUNC_1m.dbn", b"DBN\x02" + b"\x00" * 12, "rejected", "format")
    text("truncated containers", "TRUNC_1m.zip", _zip({"MES_1m.csv": VALID})[:80], "rejected", "compression")
    # Bytes that are not text.
    text("NUL bytes and encodings", "NUL_1m.csv", VALID[:60] + "\x00" * 40 + VALID[60:], "rejected", "format")
    text(
        "NUL bytes and encodings",
        "LATIN1_1m.csv",
        (HEADER.replace("volume", "vol\xfame") + rows(5)).encode("latin-1"),
        "ingested",
    )
    text(
        "NUL bytes and encodings",
        "BADUTF8_1m.csv",
        HEADER.encode() + b"\xff\xfe" + rows(5).encode(),
        "rejected",
        "timestamps",
    )
    text("NUL bytes and encodings", "EMPTY_1m.csv", b"", "rejected", "non_empty")
    text("NUL bytes and encodings", "HEADER_ONLY_1m.csv", HEADER, "rejected", "non_empty")
    # Limits.
    wide = ",".join(["datetime", "open", "high", "low", "close", "volume", *(f"x{i}" for i in range(10_000))])
    text(
        "limits",
        "WIDE_1m.csv",
        wide + "\n" + "2024-01-02 10:00,1,2,0.5,1.5,1" + ",0" * 10_000 + "\n",
        "rejected",
        "limits",
    )
    text("limits", "ONELINE_1m.csv", "x" * 2_000_000, "rejected", "limits")
    bomb = io.BytesIO()
    with gzip.GzipFile(fileobj=bomb, mode="wb", compresslevel=9) as out:
        out.write(HEADER.encode())
        for _ in range(60):
            out.write(("2024-01-02 10:00:00,1,2,0.5,1.5,1\n" * 10_000).encode())
    text("limits", "BOMB_1m.csv.gz", bomb.getvalue(), "rejected", "limits")
    many = _zip({f"p{i:05d}.csv": HEADER + rows(1, i) for i in range(50)})
    text("limits", "MANY_1m.zip", many, "rejected", "limits")  # over the corpus run's 40-member limit
    # Archives with hostile member names (nothing is ever extracted).
    text(
        "path-traversal zip members",
        "TRAV_1m.zip",
        _zip({"../../../../tmp/evil_1m.csv": VALID}),
        "rejected",
        "format",
    )
    text("path-traversal zip members", "ABS_1m.zip", _zip({"/etc/cron.d/MES_1m.csv": VALID}), "ingested")
    text(
        "path-traversal zip members",
        "BACKSLASH_1m.zip",
        _zip({"..\\..\\MES_1m.csv": VALID}),
        "rejected",
        "format",
    )
    # Hostile Parquet schemas.
    nested = pa.table({"datetime": pa.array([1704186000], pa.int64()).cast(pa.timestamp("s", "UTC")),
                       "open": pa.array([[1.0]]), "high": [2.0], "low": [0.5], "close": [1.5], "volume": [1.0]})  # fmt: skip
    text("hostile Parquet schemas", "NESTED_1m.parquet", _parquet(nested), "rejected", "numbers")
    strings = pa.table({"datetime": pa.array([1704186000], pa.int64()).cast(pa.timestamp("s", "UTC")),
                        "open": ["1"], "high": ["two"], "low": ["0.5"], "close": ["1.5"], "volume": ["1"]})  # fmt: skip
    text("hostile Parquet schemas", "STRINGS_1m.parquet", _parquet(strings), "rejected", "numbers")
    text(
        "hostile Parquet schemas",
        "NOTIME_1m.parquet",
        _parquet(pa.table({"open": [1.0], "close": [1.0]})),
        "rejected",
        "columns",
    )
    text(
        "hostile Parquet schemas",
        "STRUCT_1m.parquet",
        _parquet(pa.table({"s": [{"a": 1}]})),
        "rejected",
        "columns",
    )
    # Times that would be stored wrong.
    mixed = "timestamp,open,high,low,close,volume\n" + "".join(
        f"{(1704205800 + 60 * i) * (1000 if i % 2 else 1)},1,2,0.5,1.5,1\n" for i in range(20)
    )
    text("silent time shifts", "MIXED_EPOCH_1m.csv", mixed, "rejected", "timestamps")
    text(
        "silent time shifts",
        "YEAR10000_1m.csv",
        HEADER + rows(1) + "10000-01-02 10:00:00,1,2,0.5,1.5,1\n" * 3,
        "rejected",
        "timestamps",
    )
    text(
        "silent time shifts",
        "NQ_1min_sample.csv",
        "2024-01-02 09:30:00,1,2,0.5,1.5,1\n2024-01-02 09:31:00,1,2,0.5,1.5,1\n",
        "ingested",
    )
    text(
        "silent time shifts",
        "@ES_1min.txt",
        "Date,Time,Open,High,Low,Close,Up,Down\n01/02/2024,0931,1,2,0.5,1.5,3,4\n",
        "rejected",
        "timezone",
    )
    text(
        "silent time shifts", "GAP_1m.csv", HEADER + "2024-03-10 02:30:00,1,2,0.5,1.5,1\n", "ingested"
    )  # UTC: no gap
    # Text a screen must not interpret.
    text(
        "markup and control characters",
        "MARKUP_1m.csv",
        "date[/],open,high,low,volume\n2024-01-02 10:00,1,2,0.5,1\n",
        "rejected",
        "columns",
    )
    text(
        "markup and control characters",
        "ANSI_1m.csv",
        HEADER + "\x1b[2J\x1b[31m,1,2,0.5,1.5,1\n",
        "rejected",
        "timestamps",
    )
    text(
        "markup and control characters",
        "BIDI_1m.csv",
        "date\u202e,open,high,low,volume\n2024-01-02 10:00,1,2,0.5,1\n",
        "rejected",
        "columns",
    )
    # Names people and tools produce.
    for name in ("MES 1m with spaces.csv", "MES_'quoted'_1m.csv", 'MES_"dq"_1m.csv', "MES_n\u00e9w_1m.csv",
                 "MES_\u65e5\u672c_1m.csv", "MES_new\nline_1m.csv", "MES_$(rm -rf)_1m.csv", "MES_[bold]_1m.csv"):  # fmt: skip
        text("hostile file names", name, HEADER + rows(10, start=100 + 10 * len(CASES)), "ingested")
    # Not regular files (never opened).
    CASES.append((Case("not regular files", "FIFO_1m.csv", "ignored", "file_type"), lambda p: os.mkfifo(p)))
    CASES.append(
        (
            Case("not regular files", "LINK_OUT_1m.csv", "ignored", "symlink"),
            lambda p: p.symlink_to("/etc/passwd"),
        )
    )
    CASES.append(
        (
            Case("not regular files", "LINK_BROKEN_1m.csv", "ignored", "symlink"),
            lambda p: p.symlink_to(p.parent / "nothing-here"),
        )
    )
    CASES.append(
        (
            Case("not regular files", "DEVICE_1m.csv", "ignored", "symlink"),
            lambda p: p.symlink_to("/dev/zero"),
        )
    )
    CASES.append(
        (
            Case("not regular files", "LINK_IN_1m.csv", "duplicate"),
            lambda p: p.symlink_to(p.parent / "MES_1m.csv"),
        )
    )
    # Bad bars (validation still says why).
    text("invalid bars", "HIGHLOW_1m.csv", HEADER + "2024-01-02 10:00:00,10,9,8,9.5,1\n", "rejected", "ohlc")
    text(
        "invalid bars",
        "NEGVOL_1m.csv",
        HEADER + "2024-01-02 10:00:00,1,2,0.5,1.5,-5\n",
        "rejected",
        "non_negative_volume",
    )
    text(
        "invalid bars",
        "TEXTPRICE_1m.csv",
        HEADER + rows(3) + "2024-01-02 11:00:00,n/a,2,0.5,1.5,1\n",
        "rejected",
        "numbers",
    )
    text(
        "invalid bars",
        "RAGGED_1m.csv",
        HEADER + rows(3) + "2024-01-02 11:00:00,1,2\n",
        "rejected",
        "ragged_rows",
    )
    text("invalid bars", "2024.csv", HEADER + rows(7, start=900), "rejected", "symbol")


def cases() -> list[Case]:
    """Every case, without writing anything."""
    if not CASES:
        _build()
    return [spec for spec, _ in CASES]


def generate(out: Path) -> list[Case]:
    """Write every case into ``out`` (a fresh folder) and ``out/manifest.json``; return the cases."""
    made = cases()
    out.mkdir(parents=True, exist_ok=True)
    for _, write in CASES:
        write(out / _.name)
    (out / "manifest.json").write_text(json.dumps([asdict(c) for c in made], indent=1))
    return made


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/corpus/generate.py OUT_DIR")
    made = generate(Path(sys.argv[1]))
    print(f"{len(made)} files in {sys.argv[1]}")
