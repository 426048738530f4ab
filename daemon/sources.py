"""Which data source a file belongs to, and which folders to observe.

The source registry (``trading_pipeline.sources.DataSourceRepository``) is the authority. The daemon keeps a
snapshot of its ``watched_directories()`` and maps paths by longest folder prefix, so a 1,000-file burst
costs no registry reads; a path under no known folder (a brand-new upload session) triggers a refresh.
Without the registry (older checkout, or it failed to load) a built-in rule applies: ``data/raw`` is
``default`` and ``data/uploads/sessions/<session_id>/...`` belongs to source ``<session_id>``.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from daemon.filters import is_under
from trading_pipeline.ingest.layout import with_folder_layout
from trading_pipeline.ingest.options import IngestOptions
from trading_pipeline.logs import get_logger
from trading_pipeline.settings import Settings

__all__ = ["FallbackRepository", "Repository", "SourceMap", "WatchedDir"]

log = get_logger("daemon.sources")
REFRESH_MIN_INTERVAL_S = 1.0
"""A storm of unknown paths refreshes the registry snapshot at most this often."""
_reported: set[str] = set()


@dataclass(frozen=True)
class WatchedDir:
    source_id: str
    path: Path
    options: IngestOptions


class Repository(Protocol):
    def watched_directories(self) -> list[tuple[str, Path, IngestOptions]]: ...

    def source_for_path(self, path: Path) -> tuple[str, IngestOptions] | None: ...


class FallbackRepository:
    """The folder layout rule, for when the source registry is not available."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def watched_directories(self) -> list[tuple[str, Path, IngestOptions]]:
        dirs = [("default", self.settings.raw_dir, IngestOptions())]
        try:
            sessions = sorted(p for p in self.settings.uploads_dir.iterdir() if p.is_dir())
        except OSError:
            sessions = []
        dirs += [(p.name, p, IngestOptions(source_id=p.name)) for p in sessions if not p.name.startswith(".")]
        return dirs

    def source_for_path(self, path: Path) -> tuple[str, IngestOptions] | None:
        if is_under(path, self.settings.raw_dir):
            return "default", IngestOptions()
        if is_under(path, self.settings.uploads_dir) and path != self.settings.uploads_dir:
            session = path.relative_to(self.settings.uploads_dir).parts[0]
            return session, IngestOptions(source_id=session)
        return None


def load_repository(settings: Settings) -> Repository:
    """The real registry when ``trading_pipeline.sources`` provides it, else the fallback rule (logged
    once)."""
    try:
        module: Any = importlib.import_module("trading_pipeline.sources")
        factory: Callable[[Settings], Repository] = module.DataSourceRepository
        return factory(settings)
    except Exception as exc:  # any failure to load the registry must not stop the watcher
        reason = f"{type(exc).__name__}: {exc}"
        if reason not in _reported:
            _reported.add(reason)
            log.warning("sources.fallback", reason=reason)
        return FallbackRepository(settings)


class SourceMap:
    """Thread-safe snapshot of the watched folders with prefix lookup."""

    def __init__(self, settings: Settings, repository: Repository | None = None) -> None:
        self.settings = settings
        self._fixed = repository
        self._repo: Repository = repository or FallbackRepository(settings)
        self._lock = threading.Lock()
        self._dirs: list[WatchedDir] = []
        self._refreshed_at = float("-inf")
        self.refresh()

    def refresh(self) -> list[WatchedDir]:
        repo = self._fixed or load_repository(self.settings)
        try:
            raw = repo.watched_directories()
        except Exception as exc:  # keep the previous snapshot and try again later
            log.warning("sources.refresh_failed", error=f"{type(exc).__name__}: {exc}")
            return self.watched()
        dirs = [WatchedDir(sid, Path(p).resolve(), _with_source(opts, sid)) for sid, p, opts in raw]
        dirs.sort(key=lambda d: len(d.path.parts), reverse=True)  # deepest first: longest prefix wins
        with self._lock:
            self._repo, self._dirs, self._refreshed_at = repo, dirs, time.monotonic()
        return dirs

    def watched(self) -> list[WatchedDir]:
        with self._lock:
            return list(self._dirs)

    def roots(self) -> list[Path]:
        """Folders to observe: raw and uploads (recursively) and every source folder outside them."""
        fixed = [self.settings.raw_dir, self.settings.uploads_dir]
        extra = sorted({d.path for d in self.watched()})
        roots: list[Path] = []
        for path in [*fixed, *extra]:
            if not any(is_under(path, r) for r in roots):
                roots = [r for r in roots if not is_under(r, path)] + [path]
        return roots

    def root_of(self, path: Path) -> Path | None:
        return next((root for root in self.roots() if is_under(path, root)), None)

    def excluded(self) -> list[Path]:
        """Our own outputs: never ingest them, even when a source folder contains the data folder."""
        s = self.settings
        return [s.processed_dir, s.state_dir, s.runs_dir]

    def resolve(self, path: Path) -> tuple[str, IngestOptions] | None:
        """(source id, ingest options) for a file, or None when no source owns it.

        A ``layout.toml`` beside the file (or in a folder between it and its source's folder) goes into
        the options as a path: the worker reads it when it ingests the file.
        """
        if any(is_under(path, ex) for ex in self.excluded()):
            return None
        found = self._lookup(path)
        if found is None and self._stale_enough():
            self.refresh()
            found = self._lookup(path)
        if found is None or is_under(path, self.settings.uploads_dir):
            # Upload sessions carry per-file options (a symbol given at upload): ask the registry.
            found = self._ask_repository(path) or found
        if found is None:
            return None
        root = self._folder_of(found[0], path) or self.root_of(path) or path.parent
        options = with_folder_layout(found[1], path, root)
        if options.root is None:  # a symbolic link leading out of this folder is never followed
            options = dataclasses.replace(options, root=str(root))
        return found[0], options

    def _folder_of(self, source_id: str, path: Path) -> Path | None:
        with self._lock:
            return next(
                (d.path for d in self._dirs if d.source_id == source_id and is_under(path, d.path)), None
            )

    def _lookup(self, path: Path) -> tuple[str, IngestOptions] | None:
        with self._lock:
            for d in self._dirs:
                if is_under(path, d.path):
                    return d.source_id, d.options
        return None

    def _ask_repository(self, path: Path) -> tuple[str, IngestOptions] | None:
        try:
            found = self._repo.source_for_path(path)
        except Exception as exc:
            log.warning("sources.lookup_failed", path=str(path), error=f"{type(exc).__name__}: {exc}")
            found = None
        if found is None:
            found = FallbackRepository(self.settings).source_for_path(path)
        return None if found is None else (found[0], _with_source(found[1], found[0]))

    def _stale_enough(self) -> bool:
        with self._lock:
            return time.monotonic() - self._refreshed_at >= REFRESH_MIN_INTERVAL_S


def _with_source(options: IngestOptions, source_id: str) -> IngestOptions:
    return options if options.source_id == source_id else dataclasses.replace(options, source_id=source_id)
