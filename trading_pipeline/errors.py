"""The one exception hierarchy: everything the system raises on purpose is a ``PipelineError``.

Each error carries the fields the CLI and UI show (``check``, ``rows``, ``path``...) next to a message
built from a template, so logs and screens can render the parts separately. ``exit_code`` is what the
CLI returns when this error ends a command.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ConfigError",
    "ConflictingBarsError",
    "DaemonLockLost",
    "FileRefusedError",
    "FuturesError",
    "IngestError",
    "LimitError",
    "MountMissingError",
    "PipelineError",
    "QueueUnavailableError",
    "RunError",
    "SourceError",
    "SourceExistsError",
    "SourceNotFoundError",
    "StageError",
    "StoreError",
    "UnsafeNameError",
    "UsageError",
]


class PipelineError(Exception):
    """Root of every deliberate failure; ``str(err)`` is a sentence for a person."""

    exit_code: ClassVar[int] = 1
    template: ClassVar[str] = "{message}"

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.fields = fields
        if message is None:
            message = self.template.format(**fields)
        self.message = message
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, **self.fields}


class UsageError(PipelineError):
    """The command was called wrongly (bad flag value, unknown zone...)."""

    exit_code = 2


class ConfigError(UsageError):
    """Settings or a run config file are invalid."""


class IngestError(PipelineError):
    """A file could not be read at all (corrupt, empty, unknown layout).

    Fields: ``path``, ``reason`` and ``check`` (the name of the failed check, e.g. ``readable``,
    ``compression``, ``columns``); the ingestor turns it into an error finding of that check.
    """

    template = "{path}: {reason}"

    def __init__(self, message: str | None = None, *, check: str = "readable", **fields: Any) -> None:
        super().__init__(message, check=check, **fields)

    @property
    def check(self) -> str:
        return str(self.fields["check"])


class FileRefusedError(IngestError):
    """The file was not read, and is not bad data: it vanished, may not be read, or is no regular file.

    ``status`` is the final file status to record (``vanished``, ``unreadable``, ``ignored``).
    """

    def __init__(self, *, path: str, reason: str, check: str, status: str) -> None:
        super().__init__(path=path, reason=reason, check=check, status=status)

    @property
    def status(self) -> str:
        return str(self.fields["status"])


class LimitError(IngestError):
    """The file exceeds a configured limit (decompressed size, rows, columns, line length, zip members).

    The message names the limit and the setting that raises it.
    """

    def __init__(self, *, path: str, what: str, limit: str, setting: str) -> None:
        reason = (
            f"{what} (limit: {limit}); refused before it could exhaust memory. To accept such files,"
            f" raise {setting}"
        )
        super().__init__(path=path, reason=reason, check="limits", setting=setting)


class FuturesError(PipelineError):
    """A contract symbol, session calendar, roll or continuous build cannot be resolved as asked
    (an ambiguous decade, a missing contract in a chain, a ratio across a non-positive price)."""


class StoreError(PipelineError):
    """The processed store or ledger could not be written or read."""


class DaemonLockLost(PipelineError):
    """The running daemon lost its data folder's lock: it stops so that exactly one daemon runs."""


class MountMissingError(StoreError):
    """A job names a file in the shared data folder that this host does not see (share not mounted)."""


class SourceError(PipelineError):
    """A data source problem."""


class SourceNotFoundError(SourceError):
    template = "no data source {source_id!r}; `pipeline sources list` shows the known ones"


class SourceExistsError(SourceError):
    template = "data source {source_id!r} already exists"


class ConflictingBarsError(SourceError):
    template = (
        "{symbol}: {count} bars differ between {first_file} and {second_file}, first at {timestamp}; "
        "remove one file or fix the data"
    )


class UnsafeNameError(UsageError):
    template = "refused file name {name!r}: {reason}"


class QueueUnavailableError(PipelineError):
    template = "cannot reach Redis at {url}: {reason}. Start it with `pipeline up`, or use --inline"


class RunError(PipelineError):
    """A research pipeline run could not be started or found."""


class StageError(RunError):
    template = "stage {stage} failed for {symbol}: {reason}"
