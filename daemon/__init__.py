"""The watched-folder daemon: detect finished files, record them in the ledger, enqueue ingest jobs.

``pipeline daemon`` runs ``serve``; ``pipeline daemon --once`` runs ``run_once``. See docs/daemon.md.
"""

from __future__ import annotations

from daemon.service import Daemon, connect, run_once, serve
from daemon.submit import Tally

__all__ = ["Daemon", "Tally", "connect", "run_once", "serve"]
