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
    """

    symbol: str | None = None
    tz: str | None = None
    bar_label: BarLabel | None = None
    source_id: str = "default"
    symbol_pattern: str | None = None
    profile: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly form, used as an RQ job argument."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> IngestOptions:
        return cls(**(data or {}))

    def merged_over(self, defaults: IngestOptions) -> IngestOptions:
        """These options where set, ``defaults`` (e.g. a source's settings) elsewhere."""
        mine = asdict(self)
        base = asdict(defaults)
        merged = {k: (mine[k] if mine[k] not in (None, "default") else base[k]) for k in mine}
        if mine["source_id"] != "default":
            merged["source_id"] = mine["source_id"]
        return IngestOptions(**merged)
