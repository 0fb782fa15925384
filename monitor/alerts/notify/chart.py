"""The PNG chart attached to an alert: mentions by sentiment before and during the spike."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from monitor.alerts.notify.story import SENTIMENT_COLOURS  # noqa: E402
from monitor.localtime import zone  # noqa: E402

SHOWN_SPAN = timedelta(hours=6)
"""How much before the spike window's end the chart shows: enough for the usual level, the spike still wide."""


def series_points(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``series`` of an alert summary: ``{"t": ISO time, "negative": n, ...}`` per bucket."""
    points = summary.get("series")
    return [p for p in points if isinstance(p, dict) and "t" in p] if isinstance(points, list) else []


def shown_points(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The series points the chart draws: those of the :data:`SHOWN_SPAN` up to the spike window's end."""
    points = series_points(summary)
    window = summary.get("window") or []
    if len(window) != 2 or not points:
        return points
    end = datetime.fromisoformat(window[1])
    return [p for p in points if end - SHOWN_SPAN <= datetime.fromisoformat(p["t"]) < end] or points


def chart_title(brand: str) -> str:
    return f"{brand}: mentions by sentiment, spike window shaded"


def draw(summary: dict[str, Any], title: str, tz: ZoneInfo | None = None) -> Figure | None:
    """Stacked bars of mentions per bucket by sentiment, the spike's window shaded, times in ``tz`` (UTC when
    None) and the zone named under the axis; None without data. The caller closes the figure."""
    points = shown_points(summary)
    if not points:
        return None
    tz = tz or zone(None)
    times = [datetime.fromisoformat(p["t"]) for p in points]
    width = (times[1] - times[0]).total_seconds() / 86400 * 0.9 if len(times) > 1 else 0.01
    figure, axes = plt.subplots(figsize=(8, 3), dpi=100)
    bottom = [0.0] * len(points)
    for label in ("negative", "neutral", "positive"):
        values = [float(p.get(label, 0)) for p in points]
        axes.bar(times, values, width=width, bottom=bottom, color=SENTIMENT_COLOURS[label], label=label,
                 align="edge")
        bottom = [b + v for b, v in zip(bottom, values)]
    window = summary.get("window") or []
    if len(window) == 2:
        axes.axvspan(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1]),
                     color="#ffbf00", alpha=0.25, label="spike")
    axes.set_title(title, fontsize=10)
    axes.set_ylabel("mentions per bucket")
    axes.set_xlabel(f"time ({tz.key})", fontsize=8)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=tz))
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def spike_chart(summary: dict[str, Any], title: str, tz: ZoneInfo | None = None) -> bytes | None:
    """:func:`draw` as PNG bytes; None without data."""
    figure = draw(summary, title, tz)
    if figure is None:
        return None
    try:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
