"""Altair chart builders: pure functions of DataFrames, so they can be tested without Streamlit."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import pandas as pd

SENTIMENT_COLOURS: dict[str, str] = {
    "negative": "#d62728",
    "neutral": "#9e9e9e",
    "positive": "#2ca02c",
    "unknown": "#d9d9d9",
}
INCIDENT_COLOUR = "#333333"
_TIME_FORMAT = "%d %b %H:%M"


def bucket_label(bucket: timedelta) -> str:
    """``15 min``, ``1 h`` or ``1 day`` style text for a bucket size."""
    seconds = int(bucket.total_seconds())
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" if days == 1 else f"{days} days"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def sentiment_scale() -> alt.Scale:
    """The fixed sentiment → colour mapping every chart shares."""
    return alt.Scale(domain=list(SENTIMENT_COLOURS), range=list(SENTIMENT_COLOURS.values()))


def _time_axis(field: str) -> alt.X:
    """The shared x axis; every layer declares it the same way so Vega-Lite merges them."""
    return alt.X(f"{field}:T", title="time (UTC)", scale=alt.Scale(type="utc"), axis=alt.Axis(format=_TIME_FORMAT))


def volume_area(series: pd.DataFrame, bucket: timedelta) -> alt.Chart:
    """Stacked area of mentions per bucket by sentiment (negative at the bottom).

    ``series`` has columns ``bucket`` (datetime), ``sentiment`` and ``count``.
    """
    order = ", ".join(f"'{s}'" for s in SENTIMENT_COLOURS)
    return (
        alt.Chart(series)
        .transform_calculate(stack_order=f"indexOf([{order}], datum.sentiment)")
        .mark_area(interpolate="step-after", opacity=0.9)
        .encode(
            x=_time_axis("bucket"),
            y=alt.Y("count:Q", stack="zero", title=f"mentions per {bucket_label(bucket)}"),
            color=alt.Color("sentiment:N", scale=sentiment_scale(), title="sentiment"),
            order=alt.Order("stack_order:Q"),
            tooltip=[
                alt.Tooltip("bucket:T", title="from (UTC)", format="%d %b %Y %H:%M"),
                alt.Tooltip("sentiment:N"),
                alt.Tooltip("count:Q", title="mentions"),
            ],
        )
    )


def incident_marks(incidents: pd.DataFrame) -> list[alt.Chart]:
    """A dashed vertical rule at each incident's ``opened_at`` and a marker on top, both with tooltips.

    ``incidents`` has columns ``id``, ``opened_at``, ``severity``, ``state`` and ``playbook``.
    """
    if incidents.empty:
        return []
    tooltip = [
        alt.Tooltip("id:N", title="incident"),
        alt.Tooltip("opened_at:T", title="opened (UTC)", format="%d %b %Y %H:%M"),
        alt.Tooltip("severity:N"),
        alt.Tooltip("state:N"),
        alt.Tooltip("playbook:N"),
    ]
    base = alt.Chart(incidents[["id", "opened_at", "severity", "state", "playbook"]])
    rule = base.mark_rule(color=INCIDENT_COLOUR, strokeDash=[6, 4], strokeWidth=2).encode(
        x=_time_axis("opened_at"), tooltip=tooltip
    )
    marker = base.mark_point(shape="triangle-down", size=140, filled=True, color=INCIDENT_COLOUR).encode(
        x=_time_axis("opened_at"), y=alt.value(6), tooltip=tooltip
    )
    return [rule, marker]


def volume_chart(series: pd.DataFrame, incidents: pd.DataFrame, bucket: timedelta) -> alt.LayerChart:
    """Mention volume by sentiment over time with incidents marked where they opened."""
    return alt.layer(volume_area(series, bucket), *incident_marks(incidents)).properties(height=360)
