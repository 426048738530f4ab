"""Options that say how to read a file; explicit options always win over detection."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["BarLabel", "IngestOptions"]

BarLabel = Literal["open", "close"]


@dataclass(frozen=True)
class IngestOptions:
    """How to interpret one input file.

    ``symbol`` overrides the file-name rule; ``tz`` says what naive timestamps mean (IANA name);
    ``bar_label='close'`` shifts close-labelled bars back one inferred interval; ``symbol_pattern`` is a
    regex with a ``symbol`` group applied to the file name; ``profile`` forces a named layout.
    ``fallback_tz`` is the zone for naive timestamps when neither ``tz`` nor a vendor rule says
    (``PIPELINE_DEFAULT_TZ``): files dropped into a watched folder cannot carry a ``--tz``.
    ``layout`` is a declared layout (its JSON form, see ``trading_pipeline.ingest.layout``);
    ``layout_path`` a layout file read when the file is (a watched folder's ``layout.toml``), used
    when ``layout`` is not given.
    ``root`` is the folder the file was found in (a watched source folder, a folder given to
    `pipeline ingest`): a symbolic link leading out of it is refused without being opened.
    """

    symbol: str | None = None
    tz: str | None = None
    bar_label: BarLabel | None = None
    source_id: str = "default"
    symbol_pattern: str | None = None
    profile: str | None = None
    fallback_tz: str | None = None
    layout: dict[str, Any] | None = None
    layout_path: str | None = None
    root: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly form, used as an RQ job argument."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> IngestOptions:
        return cls(**(data or {}))
