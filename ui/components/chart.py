"""Candlesticks with volume below (zoomable), and the coverage of days with bars."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from trading_pipeline.views.sources import CHART_POINTS, ChartData, downsample_bars

__all__ = ["candlestick_figure", "show_candles", "show_coverage"]


def candlestick_figure(candles: pd.DataFrame, title: str = "") -> go.Figure:
    """OHLC candles over a volume bar chart sharing the time axis; at most CHART_POINTS candles."""
    shown = downsample_bars(candles, CHART_POINTS) if len(candles) > CHART_POINTS else candles
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.03)
    fig.add_trace(
        go.Candlestick(
            x=shown["datetime"], open=shown["open"], high=shown["high"], low=shown["low"],
            close=shown["close"], name="price",
        ),
        row=1, col=1,
    )  # fmt: skip
    fig.add_trace(go.Bar(x=shown["datetime"], y=shown["volume"], name="volume"), row=2, col=1)
    fig.update_layout(
        title={"text": title}, height=520, showlegend=False, xaxis_rangeslider_visible=False,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )  # fmt: skip
    return fig


def show_candles(chart: ChartData, title: str = "") -> None:
    if chart.candles.empty:
        st.info("no bars to chart")
        return
    if chart.rows > len(chart.candles):
        st.caption(
            f"{chart.rows:,} bars drawn as {len(chart.candles):,} candles (each merges neighbours: first"
            " open, highest high, lowest low, last close, summed volume)"
        )
    st.plotly_chart(candlestick_figure(chart.candles, title), width="stretch")


def show_coverage(days: pd.DataFrame) -> None:
    """Bars per UTC day; days under half the usual count are marked as gaps."""
    if days.empty:
        return
    gaps = int(days["gap"].sum())
    st.caption(f"{len(days):,} day(s) with bars, {gaps:,} with gaps (under half the median bars per day)")
    colours = ["#d62728" if g else "#1f77b4" for g in days["gap"]]
    fig = go.Figure(go.Bar(x=days["day"], y=days["bars"], marker_color=colours))
    fig.update_layout(height=220, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    st.plotly_chart(fig, width="stretch")
