"""Incidents: the brand's incidents in the date range and, for one (also ``?incident=<id>``), its story."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import streamlit as st

from monitor.dashboard import charts, data, incident_data
from monitor import glossary
from monitor.alerts.incidents.outcomes import closed_at, outcome_lines
from monitor.alerts.notify.story import number, ratio_text, title
from monitor.models import Incident
from monitor.localtime import shown, zone

CONTEXT = timedelta(hours=6)
BUCKET = timedelta(minutes=15)


def incident_options(frame: pd.DataFrame, linked: str) -> list[str]:
    """Incident ids in the table, then the brand's active ones opened before the range; the linked one
    first when it belongs to this brand but not the range."""
    options = list(frame["id"])
    everything = data.incidents(view.store_key, view.brand, zone_name=view.zone)
    options += [i for i in everything.loc[everything["active"].astype(bool), "id"] if i not in options]
    if linked and linked not in options:
        found = data.incident(view.store_key, linked)
        if found is not None and found.brand == view.brand:
            options.insert(0, linked)
    return options


def show_timeline(story: incident_data.IncidentStory) -> None:
    incident = story.incident
    end = max(closed_at(incident) or incident.last_spike_at, incident.last_spike_at) + CONTEXT
    series = data.volume(view.store_key, view.brand, incident.opened_at - CONTEXT, end, BUCKET)
    spikes = pd.DataFrame([{"window_start": s.window_start, "window_end": s.window_end, "observed": s.observed}
                           for s in incident.spikes], columns=["window_start", "window_end", "observed"])
    st.altair_chart(charts.incident_timeline(series, spikes, story.events, BUCKET, view.zone), width="stretch")
    st.caption("Orange band on top: spike windows. Lines, one colour per kind: state changes, playbook steps "
               "done and Slack messages (hover for details).")
    with st.expander(f"Every event ({len(story.events)})"):
        st.dataframe(story.events, hide_index=True, column_order=["at", "event", "detail"], column_config={
            "at": st.column_config.DatetimeColumn(f"at ({view.zone})", format="D MMM HH:mm", timezone=view.zone),
            "detail": st.column_config.TextColumn("detail", width="large"),
        })


STEP_ICONS = {"done": ":material/check_circle:", "late": ":material/error:", "open": ":material/schedule:"}


def show_playbook(incident: Incident) -> None:
    st.subheader("Playbook")
    if not incident.playbook_id:
        st.info("No playbook was matched to this incident. Playbooks live in the folder named by "
                "`alerts.playbooks_dir`; check them with `monitor playbooks validate`.")
        return
    playbook = incident_data.playbooks(view.playbooks_dir).get(incident.playbook_id)
    if playbook is None:
        st.warning(f"Playbook `{incident.playbook_id}` is not in `{view.playbooks_dir}` any more.")
        return
    steps = incident_data.step_rows(playbook, incident, closed_at(incident), datetime.now(timezone.utc))
    done = int((steps["done_by"] != "").sum())
    st.markdown(f"**{playbook.title}** (`{playbook.id}`): {done} of {len(steps)} steps done")
    st.progress(done / len(steps) if len(steps) else 0.0)
    for step in steps.itertuples():
        icon = STEP_ICONS["done" if step.done_by else "late" if "passed" in step.status else "open"]
        st.markdown(f"{icon} {incident_data.step_line(step, view.zone)}")
        if step.details:
            st.caption(step.details)
    st.caption("Deadlines count from when the incident opened. Mark a step done from the alert's "
               f"“Mark a step done” menu in Slack, or with `monitor step --config {view.config_path} {incident.id} NUMBER`.")


def show_figures(story: incident_data.IncidentStory) -> None:
    """The alert's own figures, worded as in Slack (see the glossary)."""
    figures = story.figures
    size, share, split = st.columns(3)
    if figures.observed is not None:
        size.metric(figures.unit.capitalize(), number(figures.observed),
                    delta=f"{ratio_text(figures.observed, figures.expected)} usual", delta_color="off",
                    help=glossary.help_for(figures.unit))
    if figures.negative_share is not None:
        share.metric(f"Negative share {figures.judged}", f"{figures.negative_share:.0%}",
                     delta=figures.negative().partition(" vs ")[2] or None, delta_color="off",
                     help=glossary.help_for("negative share"))
    if figures.split:
        split.metric(f"Mentions {figures.judged}", f"{figures.scored:,}", help=glossary.help_for("mention"))
        split.caption(figures.sentiment())


def show_incident(incident_id: str) -> None:
    story = incident_data.story(view.store_key, incident_id, view.zone)
    if story is None:
        st.warning(f"No incident `{incident_id}`.")
        return
    incident = story.incident
    st.subheader(title(incident, zone(view.zone)))
    st.markdown(f"> {story.headline}")
    st.caption(f"Incident id `{incident_id}`")
    playbook = incident_data.playbooks(view.playbooks_dir).get(incident.playbook_id or "")
    state, severity, used = st.columns(3)
    state.metric("State", incident.state.value.replace("_", " "))
    severity.metric("Severity", incident.severity.word)
    used.markdown(f"Playbook  \n**{playbook.title if playbook else (incident.playbook_id or 'none')}**")
    show_figures(story)
    outcome = incident_data.outcome(view.store_key, incident_id)
    if outcome is not None:
        st.markdown("**Outcome:** " + "; ".join(outcome_lines(outcome)), help="  \n".join(
            f"**{term}**: {glossary.help_for(term)}" for term in glossary.OUTCOME_TERMS))
    with st.expander(f"Detector details: {len(incident.spikes)} spike window(s)"):
        st.dataframe(data.incident_spikes(view.store_key, incident_id), hide_index=True, column_config={
            "window_start": st.column_config.DatetimeColumn(f"from ({view.zone})", format="D MMM HH:mm", timezone=view.zone),
            "window_end": st.column_config.DatetimeColumn(f"to ({view.zone})", format="D MMM HH:mm", timezone=view.zone),
            "observed": st.column_config.NumberColumn("observed", help="Mentions, negative mentions or, for a "
                                                      "post going viral, its interactions: see kind."),
            "expected": st.column_config.NumberColumn("expected", format="%.1f"),
            "ratio": st.column_config.NumberColumn("ratio", format="%.1f×"),
            "negative_share": st.column_config.NumberColumn("negative", format="percent"),
            "score": st.column_config.NumberColumn("score", format="%.1f"),
        })
    st.subheader("Timeline")
    show_timeline(story)
    said = story.said[-1]
    if len(story.said) > 1:
        labels = [s.label for s in story.said]
        chosen = st.radio("What people were saying, as of", labels, index=len(labels) - 1, horizontal=True,
                          help="The key phrases and posts that the alert and each update carried.")
        said = story.said[labels.index(chosen)]
    phrases, posts = st.columns([1, 2])
    with phrases:
        st.subheader("Key phrases")
        if said.key_phrases:
            st.markdown("\n".join(f"- {p}" for p in said.key_phrases))
        else:
            st.caption("None recorded with the alert.")
    with posts:
        st.subheader("Representative posts")
        if said.posts.empty:
            st.caption("None recorded with the alert.")
        else:
            st.dataframe(said.posts, hide_index=True, column_order=["text", "sentiment", "link", "author", "language"],
                         column_config={
                             "text": st.column_config.TextColumn("text", width="large"),
                             "link": st.column_config.LinkColumn("link", display_text="open"),
                         })
    show_playbook(incident)


view = data.current_view()
st.title(f"{view.brand}: incidents")
linked = st.query_params.get("incident", "")
frame = data.incidents(view.store_key, view.brand, view.start, view.end, view.zone)
options = incident_options(frame, linked)
if not options:
    st.info("No incidents opened in this date range. The detector opens one when it finds a spike: "
            f"`monitor run --config {view.config_path}` runs it on schedule, `monitor detect --config {view.config_path}` once.")
else:
    if not frame.empty:
        st.dataframe(
            frame,
            hide_index=True,
            column_order=["opened_at", "title", "state", "severity", "playbook", "peak", "spikes"],
            column_config={
                "opened_at": st.column_config.DatetimeColumn(f"opened ({view.zone})", format="D MMM YYYY, HH:mm",
                                                             timezone=view.zone),
                "title": st.column_config.TextColumn("what"),
                "peak": st.column_config.TextColumn("peak", help=glossary.help_for("peak")),
                "spikes": st.column_config.NumberColumn("spike windows", help=glossary.help_for("spike window")),
            },
        )
    labels = {row.id: f"{row.title} · detected {shown(row.opened_at, zone(view.zone))} · {row.severity} · {row.state}"
              for row in data.incidents(view.store_key, view.brand, zone_name=view.zone).itertuples()}
    chosen = st.selectbox("Incident", options, index=options.index(linked) if linked in options else 0,
                          format_func=lambda i: labels.get(i, i), key=f"incident:{linked}")
    if chosen not in set(frame["id"]):
        st.caption("Opened outside the selected date range (linked, or still active).")
    show_incident(chosen)
