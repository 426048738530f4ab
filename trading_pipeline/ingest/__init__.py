"""Reading vendor bar files into canonical bars, and the DataIngestor that validates and stores them.

The read side is ``read_file(path, IngestOptions(...)) -> ParsedFile``: container and layout detection
(``PROFILES``), time zones and DST (``localize``), symbols from file names (``symbol_from_name``), and
a layout a user declares (``Layout``, ``load_layout``; ``suggest_layout`` writes a starting one).
``DataIngestor`` lives in ``trading_pipeline.ingest.ingestor`` (it imports the validation package).
"""

from __future__ import annotations

from trading_pipeline.ingest.layout import Layout, LayoutError, load_layout
from trading_pipeline.ingest.options import BarLabel, IngestOptions
from trading_pipeline.ingest.parsed import ParsedFile
from trading_pipeline.ingest.profiles import PROFILES, Profile, get_profile
from trading_pipeline.ingest.reader import read_file
from trading_pipeline.ingest.suggest import suggest_layout
from trading_pipeline.ingest.symbols import normalise_symbol, symbol_from_name
from trading_pipeline.ingest.timeparse import epoch_to_utc, localize

__all__ = [
    "PROFILES",
    "BarLabel",
    "IngestOptions",
    "Layout",
    "LayoutError",
    "ParsedFile",
    "Profile",
    "epoch_to_utc",
    "get_profile",
    "load_layout",
    "localize",
    "normalise_symbol",
    "read_file",
    "suggest_layout",
    "symbol_from_name",
]
