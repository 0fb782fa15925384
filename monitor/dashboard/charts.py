"""Altair chart builders: pure functions of DataFrames, so they can be tested without Streamlit."""

from __future__ import annotations

from datetime import timedelta

import altair as alt
import pandas as pd

from monitor.alerts.notify.story import SENTIMENT_COLOURS

INCIDENT_COLOUR = "#333333"
SPIKE_COLOUR = "#ff7f0e"
HIGHLIGHT_COLOUR = "#1f77b4"
OTHER_COLOUR = "#7f9cb8"
EVENT_COLOURS = {"state change": "#333333", "playbook step": "#1f77b4", "Slack message": "#9467bd"}
"""One colour per kind of event on an incident's timeline (see dashboard.incident_data.EVENT_TYPES)."""
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
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


def wall_clock(frame: pd.DataFrame, columns: tuple[str, ...], zone_name: str) -> pd.DataFrame:
    """``frame`` with its UTC time ``columns`` moved to the wall-clock time of ``zone_name``.

    Vega-Lite draws times in UTC or in the browser's zone only; a chart shows the configured zone
    by drawing, on its UTC scale, the local wall-clock time of each instant.
    """
    if zone_name == "UTC" or frame.empty:
        return frame
    moved = frame.copy()
    for column in columns:
        moved[column] = pd.to_datetime(moved[column], utc=True).dt.tz_convert(zone_name).dt.tz_localize(None) \
            .dt.tz_localize("UTC")
    return moved


def _time_axis(field: str, zone_name: str) -> alt.X:
    """The shared x axis; every layer declares it the same way so Vega-Lite merges them."""
    return alt.X(f"{field}:T", title=f"time ({zone_name})", scale=alt.Scale(type="utc"),
                 axis=alt.Axis(format=_TIME_FORMAT))


def volume_area(series: pd.DataFrame, bucket: timedelta, zone_name: str = "UTC") -> alt.Chart:
    """Stacked area of mentions per bucket by sentiment (negative at the bottom), times in ``zone_name``.

    ``series`` has columns ``bucket`` (datetime), ``sentiment`` and ``count``.
    """
    order = ", ".join(f"'{s}'" for s in SENTIMENT_COLOURS)
    return (
        alt.Chart(wall_clock(series, ("bucket",), zone_name))
        .transform_calculate(stack_order=f"indexof([{order}], datum.sentiment)")
        .mark_area(interpolate="step-after", opacity=0.9)
        .encode(
            x=_time_axis("bucket", zone_name),
            y=alt.Y("count:Q", stack="zero", title=f"mentions per {bucket_label(bucket)}"),
            color=alt.Color("sentiment:N", scale=sentiment_scale(), title="sentiment"),
            order=alt.Order("stack_order:Q"),
            tooltip=[
                alt.Tooltip("bucket:T", title=f"from ({zone_name})", format="%d %b %Y %H:%M"),
                alt.Tooltip("sentiment:N"),
                alt.Tooltip("count:Q", title="mentions"),
            ],
        )
    )


def incident_marks(incidents: pd.DataFrame, zone_name: str = "UTC") -> list[alt.Chart]:
    """A dashed vertical rule at each incident's ``opened_at`` and a marker on top, both with tooltips.

    ``incidents`` has columns ``id``, ``opened_at``, ``severity``, ``state`` and ``playbook``.
    """
    if incidents.empty:
        return []
    tooltip = [
        alt.Tooltip("id:N", title="incident"),
        alt.Tooltip("opened_at:T", title=f"opened ({zone_name})", format="%d %b %Y %H:%M"),
        alt.Tooltip("severity:N"),
        alt.Tooltip("state:N"),
        alt.Tooltip("playbook:N"),
    ]
    base = alt.Chart(wall_clock(incidents[["id", "opened_at", "severity", "state", "playbook"]], ("opened_at",),
                                zone_name))
    rule = base.mark_rule(color=INCIDENT_COLOUR, strokeDash=[6, 4], strokeWidth=2).encode(
        x=_time_axis("opened_at", zone_name), tooltip=tooltip
    )
    marker = base.mark_point(shape="triangle-down", size=140, filled=True, color=INCIDENT_COLOUR).encode(
        x=_time_axis("opened_at", zone_name), y=alt.value(6), tooltip=tooltip
    )
    return [rule, marker]


def bucket_picker(series: pd.DataFrame, name: str, zone_name: str = "UTC") -> alt.Chart:
    """Invisible points on each bucket's total: a click selects the nearest bucket (selection ``name``), by its
    UTC start whichever zone the chart draws in."""
    totals = series.groupby("bucket", as_index=False)["count"].sum()
    totals["at"] = wall_clock(totals, ("bucket",), zone_name)["bucket"]
    pick = alt.selection_point(name=name, fields=["bucket"], on="click", nearest=True, empty=False)
    return alt.Chart(totals).mark_point().encode(
        x=_time_axis("at", zone_name), y=alt.Y("count:Q"), opacity=alt.value(0),
    ).add_params(pick)


def volume_chart(series: pd.DataFrame, incidents: pd.DataFrame, bucket: timedelta,
                 pick: str | None = None, zone_name: str = "UTC") -> alt.LayerChart:
    """Mention volume by sentiment over time with incidents marked where they opened (times in ``zone_name``);
    with ``pick``, clicking the chart selects a bucket (see :func:`bucket_picker`)."""
    picker = [bucket_picker(series, pick, zone_name)] if pick else []
    return alt.layer(volume_area(series, bucket, zone_name), *incident_marks(incidents, zone_name),
                     *picker).properties(height=360)


def share_bar(shares: pd.DataFrame, brand: str) -> alt.Chart:
    """Horizontal bars of each brand's share of voice, the selected brand highlighted.

    ``shares`` has columns ``brand``, ``mentions`` and ``share``.
    """
    return (
        alt.Chart(shares)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="share of voice", axis=alt.Axis(format="%")),
            y=alt.Y("brand:N", sort="-x", title=None),
            color=alt.condition(alt.datum.brand == brand, alt.value(HIGHLIGHT_COLOUR), alt.value(OTHER_COLOUR)),
            tooltip=[alt.Tooltip("brand:N"), alt.Tooltip("mentions:Q", format=","),
                     alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=alt.Step(28))
    )


def top_bar(counts: pd.DataFrame, field: str, top: int = 8) -> alt.Chart:
    """The ``top`` values of ``field`` by mentions, each bar split by sentiment.

    ``counts`` has columns ``field``, ``sentiment`` and ``count``.
    """
    totals = counts.groupby(field)["count"].sum().nlargest(top)
    shown = counts[counts[field].isin(totals.index)]
    order = ", ".join(f"'{s}'" for s in SENTIMENT_COLOURS)
    return (
        alt.Chart(shown)
        .transform_calculate(stack_order=f"indexof([{order}], datum.sentiment)")
        .mark_bar()
        .encode(
            x=alt.X("sum(count):Q", title="mentions"),
            y=alt.Y(f"{field}:N", sort=list(totals.index), title=None),
            color=alt.Color("sentiment:N", scale=sentiment_scale(), title="sentiment"),
            order=alt.Order("stack_order:Q"),
            tooltip=[alt.Tooltip(f"{field}:N"), alt.Tooltip("sentiment:N"),
                     alt.Tooltip("sum(count):Q", title="mentions", format=",")],
        )
        .properties(height=alt.Step(24))
    )


def hour_of_week_heatmap(cells: pd.DataFrame, zone_name: str = "UTC") -> alt.Chart:
    """Average mentions per hour for each weekday and local hour of ``zone_name``.

    ``cells`` has columns ``weekday`` (Mon..Sun), ``hour`` (0-23) and ``mentions``.
    """
    return (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title=f"hour of day ({zone_name})"),
            y=alt.Y("weekday:O", sort=list(WEEKDAYS), title=None),
            color=alt.Color("mentions:Q", title="mentions per hour", scale=alt.Scale(scheme="blues")),
            tooltip=[alt.Tooltip("weekday:O"), alt.Tooltip("hour:O", title=f"hour ({zone_name})"),
                     alt.Tooltip("mentions:Q", title="mentions per hour", format=".1f")],
        )
        .properties(height=alt.Step(26))
    )


def incident_timeline(series: pd.DataFrame, spikes: pd.DataFrame, events: pd.DataFrame,
                      bucket: timedelta, zone_name: str = "UTC") -> alt.LayerChart:
    """Volume by sentiment around an incident, spike windows as a band on top, alerts and state changes as rules
    (times in ``zone_name``).

    ``spikes`` has ``window_start`` and ``window_end``; ``events`` has ``at``, ``type``, ``event`` and ``detail``.
    """
    layers: list[alt.Chart] = []
    if not spikes.empty:
        top = float(series.groupby("bucket")["count"].sum().max()) if not series.empty else 1.0
        band = wall_clock(spikes[["window_start", "window_end", "observed"]], ("window_start", "window_end"),
                          zone_name).assign(low=top * 1.04, high=top * 1.1)
        layers.append(
            alt.Chart(band)
            .mark_rect(color=SPIKE_COLOUR, opacity=0.8)
            .encode(x=_time_axis("window_start", zone_name), x2="window_end:T", y="low:Q", y2="high:Q",
                    tooltip=[alt.Tooltip("window_start:T", title=f"spike from ({zone_name})", format="%d %b %H:%M"),
                             alt.Tooltip("observed:Q", title="mentions")])
        )
    layers.append(volume_area(series, bucket, zone_name))
    if not events.empty:
        layers.append(
            alt.Chart(wall_clock(events[["at", "type", "event", "detail"]], ("at",), zone_name))
            .mark_rule(strokeWidth=2)
            .encode(x=_time_axis("at", zone_name),
                    color=alt.Color("type:N", title="event",
                                    scale=alt.Scale(domain=list(EVENT_COLOURS), range=list(EVENT_COLOURS.values()))),
                    tooltip=[alt.Tooltip("at:T", title=f"at ({zone_name})", format="%d %b %H:%M"), "event:N",
                             "detail:N"])
        )
    return alt.layer(*layers).resolve_scale(color="independent").properties(height=320)


def source_rate_bars(rates: pd.DataFrame) -> alt.Chart:
    """Mentions stored per hour by each source, failing sources in red.

    ``rates`` has columns ``source``, ``per_hour`` and ``healthy``.
    """
    return (
        alt.Chart(rates)
        .mark_bar()
        .encode(
            x=alt.X("per_hour:Q", title="mentions stored per hour"),
            y=alt.Y("source:N", sort="-x", title=None),
            color=alt.condition(alt.datum.healthy, alt.value(OTHER_COLOUR), alt.value(SENTIMENT_COLOURS["negative"])),
            tooltip=[alt.Tooltip("source:N"), alt.Tooltip("per_hour:Q", title="per hour", format=".1f")],
        )
        .properties(height=alt.Step(26))
    )
