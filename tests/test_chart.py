from datetime import datetime, timedelta, timezone

from monitor.alerts.notify.chart import SHOWN_SPAN, series_points, shown_points, spike_chart
from monitor.alerts.notify.story import SENTIMENT_COLOURS

T0 = datetime(2026, 3, 23, 6, 0, tzinfo=timezone.utc)


def summary(buckets: int = 12) -> dict:
    points = [{"t": (T0 + timedelta(minutes=15 * k)).isoformat(), "negative": k, "neutral": 3, "positive": 2}
              for k in range(buckets)]
    return {"series": points, "window": [points[-2]["t"], (T0 + timedelta(minutes=15 * buckets)).isoformat()]}


def test_the_chart_is_a_png_and_grows_with_the_data():
    small, large = spike_chart(summary(2), "Aurora Air"), spike_chart(summary(40), "Aurora Air")
    assert small.startswith(b"\x89PNG\r\n\x1a\n") and large.startswith(b"\x89PNG")
    assert small != large


def test_no_series_no_chart_and_bad_points_are_ignored():
    assert spike_chart({}, "x") is None
    assert spike_chart({"series": "nonsense"}, "x") is None
    assert series_points({"series": [{"t": T0.isoformat()}, "junk", {"no": "time"}]}) == [{"t": T0.isoformat()}]


def test_the_chart_shows_the_hours_before_the_spike_so_the_spike_is_not_a_sliver():
    whole = summary(96)  # a day of 15-minute buckets
    shown = shown_points(whole)
    end = datetime.fromisoformat(whole["window"][1])
    assert len(shown) == SHOWN_SPAN / timedelta(minutes=15)
    assert all(end - SHOWN_SPAN <= datetime.fromisoformat(p["t"]) < end for p in shown)
    assert shown_points({"series": whole["series"]}) == whole["series"]


def test_the_dashboard_and_the_alert_chart_colour_sentiment_alike():
    from monitor.dashboard.charts import sentiment_scale

    scale = sentiment_scale().to_dict()
    assert dict(zip(scale["domain"], scale["range"])) == SENTIMENT_COLOURS


def test_the_chart_writes_its_times_in_the_brands_zone_and_names_it():
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from monitor.alerts.notify.chart import draw
    from monitor.localtime import zone

    for tz, label, clock in ((zone("Asia/Tokyo"), "time (Asia/Tokyo)", "15:00"), (None, "time (UTC)", "06:00")):
        figure = draw(summary(), "Aurora Air", tz)
        try:
            axes = figure.axes[0]
            assert axes.get_xlabel() == label
            assert axes.xaxis.get_major_formatter()(mdates.date2num(T0)) == clock
        finally:
            plt.close(figure)
