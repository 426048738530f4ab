"""The shape every stage shares: a function from a bar frame to a bar frame, plus a context.

Stages are uniform callables composed in a list (as structlog composes processors), so the runner,
``--inline`` and the RQ jobs all execute the same list, and a new stage is one more entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pandas as pd

from trading_pipeline.errors import StageError
from trading_pipeline.stages.config import RunConfig
from trading_pipeline.stages.gaps import SessionBoundaries
from trading_pipeline.stages.records import SplitPlan
from trading_pipeline.stages.source import BarLoader, InputFile

__all__ = ["Stage", "StageContext", "StageFn"]


@dataclass
class StageContext:
    """What a stage may know besides its input frame.

    ``checks`` collects each stage's check results for run.json; ``warnings`` the doubts every view
    shows; ``inputs`` is the lineage `load` records. ``sessions`` is the symbol's trading calendar when
    one is known (breaks then include its session boundaries); ``plan`` is the run's split plan, which
    the `splits` stage needs.
    """

    symbol: str
    config: RunConfig
    stage: str = ""
    loader: BarLoader | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    inputs: list[InputFile] = field(default_factory=list)
    sessions: SessionBoundaries | None = None
    plan: SplitPlan | None = None

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def fail(self, reason: str) -> NoReturn:
        """Stop the run for this symbol; the message names stage, symbol and reason."""
        # The checks made so far go with the error, so run.json shows them for the failed stage too.
        raise StageError(stage=self.stage, symbol=self.symbol, reason=reason, checks=dict(self.checks))


StageFn = Callable[[pd.DataFrame, StageContext], pd.DataFrame]


@dataclass(frozen=True)
class Stage:
    name: str
    run: StageFn
    doc: str = ""
