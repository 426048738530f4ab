"""Job ids. RQ allows only ``[A-Za-z0-9_-]`` in an id; ids are derived from content so that the same
work maps to the same job (an active job with that id is never queued twice)."""

from __future__ import annotations

import hashlib

__all__ = ["ingest_job_id", "safe_part", "stage_job_id"]


def safe_part(text: str, max_len: int = 40) -> str:
    """``text`` with characters RQ refuses replaced by ``_``; when anything changed, a short hash of
    the original is appended so that two different names never share an id."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in text)
    if safe == text and len(text) <= max_len:
        return text
    return f"{safe[:max_len]}_{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def ingest_job_id(source_id: str, sha256: str) -> str:
    """One job per (source, content): the same bytes dropped twice, or a reconcile racing an event."""
    return f"ingest-{safe_part(source_id)}-{sha256[:32]}"


def stage_job_id(run_id: str, symbol: str, stage: str) -> str:
    """One job per (run, symbol, stage); a symbol such as ``BRK.B`` is made safe and hashed."""
    return f"{run_id}-{safe_part(symbol)}-{stage}"
