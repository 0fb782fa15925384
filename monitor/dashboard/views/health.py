"""Sources health: each collector's last run, its errors, and how many mentions it stores per hour."""

from __future__ import annotations

import streamlit as st

from monitor.dashboard import charts, data, health_data

view = data.current_view()
st.title(f"{view.brand}: sources health")

frame = health_data.source_health_frame(view.store_key, view.brand, view.sources, view.zone)
ran = frame[frame["runs"] > 0]
if ran.empty:
    st.info(f"No collector runs recorded for {view.brand} yet. They are recorded by the scheduler: start it with "
            f"`monitor run --config {view.config_path}`, or collect once with "
            f"`monitor collect --config {view.config_path} --brand '{view.brand}' --source NAME`."
            + ("" if view.sources else f" {view.brand} has no sources configured: add some under `sources:`."))
if not frame.empty:
    failing = frame[frame["failures_in_row"] > 0]
    first, second, third = st.columns(3)
    first.metric("Sources", len(frame))
    second.metric("Failing now", len(failing), help="Sources whose latest run ended in an error.")
    third.metric("Errors", int(frame["errors"].sum()), help=f"Among the latest {health_data.RUNS:,} runs.")
    if len(failing):
        st.error("Failing: " + "; ".join(f"**{r.source}**: {r.last_error}" for r in failing.itertuples()))
    st.dataframe(frame.drop(columns=["healthy"]), hide_index=True, column_config={
        "last_run": st.column_config.DatetimeColumn(f"last run ({view.zone})", format="D MMM HH:mm", timezone=view.zone),
        "last_ok": st.column_config.DatetimeColumn(f"last success ({view.zone})", format="D MMM HH:mm", timezone=view.zone),
        "failures_in_row": st.column_config.NumberColumn("failures in a row"),
        "unreadable": st.column_config.NumberColumn(
            "skipped items", help="Items a collector could not read (logged with where they came from), skipped."),
        "per_hour": st.column_config.NumberColumn(
            "stored per hour", format="%.1f", help="Mentions stored per hour of collecting, over the recorded runs."),
        "last_error": st.column_config.TextColumn("last error", width="large"),
    })
    if not ran.empty:
        st.altair_chart(charts.source_rate_bars(ran), width="stretch")
        st.caption("Mentions stored per hour over the time the recorded runs span; red: the latest run failed.")

jobs = health_data.job_health_frame(view.store_key, view.brand)
if not jobs.empty:
    st.subheader("Detection, reminders and delivery")
    failing_jobs = jobs[jobs["failing"]]
    if len(failing_jobs):
        st.error("Failing: " + "; ".join(f"**{r.job}**: {r.last_error}" for r in failing_jobs.itertuples()))
    st.dataframe(jobs.drop(columns=["failing"]), hide_index=True, column_config={
        "last_run": st.column_config.DatetimeColumn(f"last run ({view.zone})", format="D MMM HH:mm", timezone=view.zone),
        "last_error": st.column_config.TextColumn("last error", width="large"),
    })

workers = health_data.workers_frame(view.store_key, view.config_path)
st.subheader("Workers")
if workers.empty:
    st.caption(f"No worker has run on this store yet: each `monitor run --config {view.config_path}` is one.")
else:
    odd = workers[(workers["config"] == "differs") & (workers["state"] == "running")]
    if len(odd):
        st.warning("Running with a different config than this one: " + ", ".join(odd["worker"]))
    st.dataframe(workers, hide_index=True, column_config={
        "last_beat": st.column_config.DatetimeColumn(f"last heartbeat ({view.zone})", format="D MMM HH:mm:ss", timezone=view.zone),
        "jobs_last_hour": st.column_config.NumberColumn("jobs in the last hour"),
        "holds": st.column_config.TextColumn("holds", width="large"),
    })
