"""Level-3 validation of a symbol's splits: enough rows in each split, and in each label class of it.

A run whose train split holds four rows writes files and "succeeds", yet nothing can be learned or
judged from it. After the rows are tagged, each split must hold ``min_split_rows`` rows and each label
class of each horizon ``min_class_rows`` rows of that split. What a shortfall does is the run's
``min_rows_severity``: a warning every view shows, or the symbol fails at `splits`. Every finding is
recorded with its level, so run.json says what was checked even when the symbol failed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trading_pipeline.stages.base import StageContext
from trading_pipeline.stages.labels import CLASS_NAMES

__all__ = ["CHECKS_KEY", "check_minimums"]

CHECKS_KEY = "minimums"
"""Where the findings go in the `splits` stage's checks: a list of {check, level, message, ...}."""


def _split_findings(name: str, rows: int, minimum: int) -> list[dict[str, Any]]:
    if rows >= minimum:
        return []
    if rows == 0:
        message = f"no rows in {name}: the symbol's bars do not reach into {name}'s period of the run"
    else:
        message = f"{name} has {rows:,} rows, below the minimum {minimum:,} (min_split_rows)"
    return [{"check": "min_split_rows", "split": name, "rows": rows, "minimum": minimum, "message": message}]


def _class_findings(name: str, column: str, labels: np.ndarray, minimum: int) -> list[dict[str, Any]]:
    counts = np.bincount(labels.astype(np.int64) + 1, minlength=3)
    short = {
        label: int(counts[code + 1]) for code, label in CLASS_NAMES.items() if counts[code + 1] < minimum
    }
    if not short:
        return []
    spread = ", ".join(f"'{label}' {count:,}" for label, count in short.items())
    message = (
        f"{name} {column}: too few rows of a class ({spread}), below the minimum {minimum:,} per class "
        "(min_class_rows)"
    )
    return [
        {
            "check": "min_class_rows",
            "split": name,
            "column": column,
            "classes": short,
            "minimum": minimum,
            "message": message,
        }
    ]


def check_minimums(
    ctx: StageContext, codes: np.ndarray, labels: dict[str, np.ndarray], split_names: tuple[str, ...]
) -> None:
    """Judge each split's rows (``codes``: its index in ``split_names`` per row, -1 for none) and the
    classes of each label column; record the findings, then warn or fail as the run says."""
    config = ctx.config
    level = "error" if config.min_rows_severity == "fail" else "warning"
    findings: list[dict[str, Any]] = []
    for code, name in enumerate(split_names):
        at = np.flatnonzero(codes == code)
        findings += _split_findings(name, len(at), config.min_split_rows)
        if len(at):
            for column, values in labels.items():
                findings += _class_findings(name, column, values[at], config.min_class_rows)
    for finding in findings:
        finding["level"] = level
    ctx.checks[CHECKS_KEY] = findings
    if not findings:
        return
    if level == "error":
        ctx.fail("; ".join(f["message"] for f in findings) + "; set min_rows_severity = 'warn' to go on")
    for finding in findings:
        ctx.warn(finding["message"])
