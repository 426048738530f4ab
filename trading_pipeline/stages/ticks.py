"""Bad ticks: bars whose prices are internally consistent but displaced, such as a 10x print.

The rule is causal (a bar is judged from itself and the bars before it, never later ones), so
cleaning never lets the future decide what a feature at time t sees. A bar is a bad tick when its
whole range (low to high) lies more than ``threshold`` robust sigmas away from BOTH

* the previous bar's close: a genuine fast move trades through from there, a bad print jumps; and
* the median close of the previous ``window`` bars: the bar after a bad tick, back at the old level,
  is far from the bad close but not from the median, so it is kept.

The robust sigma is 1.4826 times the median absolute 1-bar log return over the previous ``window``
bars, leaving out zero returns: on an illiquid contract most bars do not move, which would make the
plain median absolute deviation 0 and every move "infinite". Bars after a break are not judged (their
move includes the closure), nor are bars before ``window // 2`` earlier bars exist. A genuine jump
whose bar opens already at the new level is dropped as one bad tick (its move survives in the next
bar's return, and run.json lists it); a wick spike (only the high or low displaced) is not detected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MAD_TO_SIGMA", "MAX_LISTED", "bad_tick_mask"]

MAD_TO_SIGMA = 1.4826
"""For normal returns the median absolute return is 0.6745 sigma."""
MAX_LISTED = 1000
"""run.json lists at most this many bad ticks per symbol (the count is always exact)."""


def _trailing_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median of the previous ``window`` values (NaN skipped), excluding the value itself."""
    rolling = pd.Series(values).rolling(window, min_periods=max(2, window // 2)).median()
    shifted: np.ndarray = np.r_[np.nan, rolling.to_numpy()[:-1]]
    return shifted


def bad_tick_mask(
    frame: pd.DataFrame, gap_before: np.ndarray, window: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(bad, reference close) per bar; the reference is the trailing median close a bar was judged by."""
    log_close = np.log(frame["close"].to_numpy("float64"))
    log_low = np.log(frame["low"].to_numpy("float64"))
    log_high = np.log(frame["high"].to_numpy("float64"))
    moves = np.abs(np.diff(log_close, prepend=np.nan))
    moves[moves == 0] = np.nan
    limit = threshold * MAD_TO_SIGMA * _trailing_median(moves, window)
    reference = _trailing_median(log_close, window)
    previous = np.r_[np.nan, log_close[:-1]]
    from_previous = np.maximum(np.maximum(log_low - previous, previous - log_high), 0.0)
    from_median = np.maximum(np.maximum(log_low - reference, reference - log_high), 0.0)
    with np.errstate(invalid="ignore"):
        bad = (from_previous > limit) & (from_median > limit) & ~gap_before
    return bad, np.exp(reference)
