"""The `splits` stage and the run's split plan: one set of split instants for every symbol.

The plan is made once per run, after every symbol's labels, from the union of the labelled bars'
open times: train takes the first ``ratios[0]`` of the union (once the two purge periods are set
aside), val the next ``ratios[1]``, test the rest. Each purge period is as long as the longest label,
so a training label cannot reach into validation; and a row stays in its split only when its own
``label_end`` is at or before the next split's start, so the purge is exact even for bar-count
horizons over irregular bars. A symbol that does not reach into every split is reported, never re-cut.

Each split's rows and each label class's rows in it are held to the run's minimums
(`trading_pipeline.stages.minimums`). The minimum class share is judged on train only: tuning a
threshold until validation or test pass would be selection on held-out data. Shares of every split
and horizon are recorded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading_pipeline.stages.base import StageContext
from trading_pipeline.stages.config import RunConfig, horizon_name
from trading_pipeline.stages.labels import CLASS_NAMES, LABEL_END
from trading_pipeline.stages.minimums import check_minimums
from trading_pipeline.stages.records import SplitPeriod, SplitPlan

__all__ = ["SPLIT_NAMES", "PlanError", "make_plan", "split_sizes", "splits"]

SPLIT_NAMES: tuple[str, str, str] = ("train", "val", "test")
PLAN_ROUNDS = 8
"""The gap sizes depend on where the cuts fall; a few rounds settle them (two on regular bars)."""


class PlanError(ValueError):
    """The union of the labelled bars cannot hold three splits and two purge periods."""


def split_sizes(rows: int, ratios: tuple[float, float, float], gap: int) -> tuple[int, int, int]:
    """Rows in train, val and test once two purge gaps of ``gap`` rows are set aside."""
    usable = rows - 2 * gap
    n_train = round(usable * ratios[0])
    n_val = round(usable * ratios[1])
    return n_train, n_val, usable - n_train - n_val


def _iso(ns: int) -> str:
    return str(pd.Timestamp(ns, unit="ns", tz="UTC"))


def make_plan(union: np.ndarray, ratios: tuple[float, float, float], purge_ns: int) -> tuple[int, int]:
    """The instants (ns) where val's and test's purge periods start, from sorted unique open times.

    How many bars a purge period holds depends on where it falls, so the cuts are placed, the periods
    measured, and the cuts placed again on what is left; on regular bars the second round is final.
    """
    n = len(union)
    gaps, best = (0, 0), None
    for _ in range(PLAN_ROUNDS):
        n_train, n_val, _ = split_sizes(n - sum(gaps), ratios, 0)
        if n_train < 1 or n_val < 1 or n_train + n_val >= n:
            break
        cut1 = int(union[n_train])
        val_from = int(np.searchsorted(union, cut1 + purge_ns))
        cut2 = int(union[min(val_from + n_val, n - 1)])
        test_from = int(np.searchsorted(union, cut2 + purge_ns))
        valid = val_from + n_val < n and test_from < n
        best = (cut1, cut2) if valid else best
        found = (val_from - n_train, test_from - val_from - n_val)
        if found == gaps:
            break
        gaps = found
    if best is None:
        raise PlanError(
            f"{n:,} distinct bar times are too few for splits {ratios} with two purge periods of "
            f"{pd.Timedelta(purge_ns, 'ns')}"
        )
    return best


def build_plan(times: dict[str, np.ndarray], config: RunConfig, bar_ns: int) -> SplitPlan:
    """The run's plan from each symbol's labelled open times (ns)."""
    union = np.sort(np.concatenate(list(times.values())), kind="stable")
    # Sort and drop repeats rather than np.unique: its hash path is ~40x slower on millions of times.
    union = union[np.r_[True, union[1:] != union[:-1]]] if len(union) else union
    purge = config.purge_ns(bar_ns)
    cut1, cut2 = make_plan(union, config.splits, purge)
    return SplitPlan(
        symbols=sorted(times),
        union_rows=len(union),
        purge=str(pd.Timedelta(purge, "ns")),
        train=SplitPeriod(start=_iso(int(union[0])), end=_iso(cut1)),
        val=SplitPeriod(start=_iso(cut1 + purge), end=_iso(cut2)),
        test=SplitPeriod(start=_iso(cut2 + purge), end=None),
    )


def _assign(frame: pd.DataFrame, plan: SplitPlan) -> tuple[np.ndarray, dict[str, int]]:
    """A split code per row (-1: dropped), and how many rows each reason dropped."""
    opens = frame["datetime"].to_numpy("datetime64[ns]").astype("int64")
    ends = frame[LABEL_END].to_numpy("datetime64[ns]").astype("int64")
    bounds = [pd.Timestamp(p.start).value for p in plan.periods().values()]
    val_end, train_end = pd.Timestamp(str(plan.val.end)).value, pd.Timestamp(str(plan.train.end)).value
    codes = np.full(len(frame), -1, dtype=np.int8)
    codes[opens >= bounds[2]] = 2
    codes[(opens >= bounds[1]) & (opens < val_end)] = 1
    codes[opens < train_end] = 0
    purged = ((codes == 0) & (ends > bounds[1])) | ((codes == 1) & (ends > bounds[2]))
    in_gap = int((codes < 0).sum())
    codes[purged] = -1
    return codes, {"purge_period_rows": in_gap, "label_overlap_purged": int(purged.sum())}


def _shares(label: np.ndarray) -> dict[str, float]:
    counts = np.bincount(label.astype(np.int64) + 1, minlength=3)
    total = max(len(label), 1)
    return {name: round(float(counts[code + 1]) / total, 6) for code, name in CLASS_NAMES.items()}


def _check_train(ctx: StageContext, shares: dict[str, dict[str, float]], rows: int) -> None:
    minimum = ctx.config.min_class_share
    for column, by_class in shares.items():
        for name, share in by_class.items():
            if share < minimum:
                spread = ", ".join(f"{k} {v:.1%}" for k, v in by_class.items())
                ctx.fail(
                    f"{column}: class '{name}' is {share:.1%} of {rows:,} train rows, below the minimum "
                    f"{minimum:.1%} ({spread}); adjust label_threshold or min_class_share"
                )


def splits(frame: pd.DataFrame, ctx: StageContext) -> pd.DataFrame:
    """Tag rows train/val/test by the run's split instants (purge-period and purged rows get no tag),
    judge the class shares on train."""
    if ctx.plan is None:
        ctx.fail("the run has no split plan yet (every symbol's labels come first)")
    codes, dropped = _assign(frame, ctx.plan)
    columns = [f"label_{horizon_name(h)}" for h in ctx.config.horizons]
    shares: dict[str, dict[str, dict[str, float]]] = {}
    for code, name in enumerate(SPLIT_NAMES):
        rows = np.flatnonzero(codes == code)
        if len(rows):
            times = frame["datetime"].iloc[[rows[0], rows[-1]]]
            ctx.checks[name] = {"rows": len(rows), "start": str(times.iloc[0]), "end": str(times.iloc[1])}
        else:
            ctx.checks[name] = {"rows": 0}
        shares[name] = {c: _shares(frame[c].to_numpy()[rows]) for c in columns} if len(rows) else {}
    ctx.checks.update(dropped)
    ctx.checks["class_shares"] = shares
    check_minimums(ctx, codes, {c: frame[c].to_numpy() for c in columns}, SPLIT_NAMES)
    train_rows = int((codes == 0).sum())
    if train_rows:
        _check_train(ctx, shares["train"], train_rows)
    ctx.checks["rows"] = int((codes >= 0).sum())
    # Rows of no split keep a missing tag instead of being dropped here: copying every column of
    # millions of rows cost more than the rest of the stage, and the deliverables take each split's
    # rows (a slice when they are contiguous, as they nearly always are) straight from the frame.
    return frame.assign(split=pd.Categorical.from_codes(codes, categories=pd.Index(SPLIT_NAMES)))
