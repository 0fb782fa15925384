"""The Incidents page: list, one incident's story, and the ``?incident=<id>`` link from Slack alerts."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.dashboard.incident_data import step_rows, story_of  # noqa: E402
from dashboard_seed import (  # noqa: E402, F401 (pytest fixtures)
    APP, BRAND, COMPETITOR, HEADLINE, KEY_PHRASES, OPENED, PLAYBOOKS, POST_TEXT, POST_URL, RESOLVED, STEP_TITLES, T0,
    alert_for,
    config_fixture, fresh_caches_fixture, make_incident, make_open_incident, metric, run_app,
)
from monitor.alerts.notify.slack.blocks import render  # noqa: E402
from monitor.alerts.notify.base import AlertMessage  # noqa: E402
from monitor.alerts.incidents.playbooks import load_playbooks  # noqa: E402
from monitor.alerts.notify.summary import summarise  # noqa: E402
from monitor.models import Incident  # noqa: E402
from monitor.store.base import Notification  # noqa: E402
from monitor.store.sqlite import SqliteStore  # noqa: E402

PAGE = "views/incidents.py"
STORY = ("Aurora Air: negative sentiment surge about “delayed again”, “app down”: "
         "40 negative mentions in 15 min (4.0× usual), 70% negative")
LATER_TEXT = "Strona zwrotów Aurora Air nie działa od rana"


def open_linked(incident_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["incident"] = incident_id
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_list_shows_state_and_severity(config):
    at = run_app(PAGE)
    table = at.dataframe[0].value
    assert list(table["id"]) == [make_open_incident().id, make_incident().id]  # newest first
    assert list(table["state"]) == ["open", "resolved"]
    assert list(table["severity"]) == ["medium", "high"]
    assert list(table["playbook"]) == ["", "outage"]


def test_detail_shows_alert_timeline_phrases_posts_and_playbook(config):
    at = run_app(PAGE)
    at.main.selectbox[0].set_value(make_incident().id).run()
    assert not at.exception
    assert any(STORY in m.value for m in at.markdown)
    assert at.main.subheader[0].value.startswith(f"Negative sentiment surge · {BRAND} · detected")
    assert (metric(at, "State"), metric(at, "Severity")) == ("resolved", "high")
    assert any(m.value == "Playbook  \n**Service outage / travel disruption**" for m in at.markdown)
    assert any(m.value.startswith("**Outcome:** acknowledged after 12 min · resolved after 3 h · 2 step(s) done, "
                                  "1 on time; negative share: ") for m in at.markdown)
    spikes = at.dataframe[1].value
    assert spikes["observed"].tolist() == [40]
    events = at.dataframe[2].value
    assert events["event"].tolist() == ["state: open", "Slack alert (sent)", "step 1 done", "state: acknowledged",
                                        "step 3 done", "state: resolved"]
    assert "maria" in events["detail"].iloc[3]
    assert events["detail"].iloc[4] == f"jonas: {STEP_TITLES[2]} (10 min late). statement on the website"
    assert len(at.get("vega_lite_chart")) == 1
    assert any(all(p in m.value for p in KEY_PHRASES) for m in at.markdown)
    posts = at.dataframe[3].value
    assert posts["text"].tolist() == [POST_TEXT] and posts["link"].tolist() == [POST_URL]
    assert len(at.dataframe) == 4  # the steps are lines that wrap, not a table running off the page
    outage = next(p for p in load_playbooks(PLAYBOOKS) if p.id == "outage")
    lines = [m.value for m in at.markdown if any(f"**{n}. " in m.value for n in range(1, len(outage.steps) + 1))]
    assert len(lines) == len(outage.steps)
    for number, (line, step) in enumerate(zip(lines, outage.steps), start=1):
        assert f"**{number}. {step.title}** · {step.owner} · due " in line
    assert lines[0].startswith(":material/check_circle:") and "done on time by maria at 05 Nov 03:09 UTC" in lines[0]
    assert lines[1].startswith(":material/error:") and lines[1].endswith("not done, deadline passed")
    assert "done 10 min late by jonas at 05 Nov 03:40 UTC" in lines[2]
    assert any(c.value == outage.steps[0].details for c in at.caption if outage.steps[0].details)
    assert any(f"Service outage / travel disruption** (`outage`): 2 of {len(outage.steps)} steps done" in m.value
               for m in at.markdown)


def test_open_incident_without_playbook_says_so(config):
    at = run_app(PAGE)
    assert at.main.selectbox[0].value == make_open_incident().id
    assert any("No playbook was matched" in i.value for i in at.info)
    assert any("None recorded with the alert." in c.value for c in at.caption)


def test_slack_link_opens_the_incident_page_and_brand(config):
    at = open_linked(make_incident().id)
    assert at.title[0].value == f"{BRAND}: incidents"
    assert at.sidebar.selectbox[0].value == BRAND
    assert at.main.selectbox[0].value == make_incident().id
    assert any(STORY in m.value for m in at.markdown)


def test_slack_link_outside_the_date_range_still_shows_it(config):
    at = open_linked(make_incident().id)
    day = (T0 + timedelta(days=3)).date()
    at.sidebar.date_input[0].set_value((day, day)).run()
    assert not at.exception
    assert at.main.selectbox[0].value == make_incident().id
    assert any("outside the selected date range" in c.value for c in at.caption)


def test_link_to_an_unknown_incident_opens_the_overview_and_says_so(config):
    at = open_linked("no-such-incident")
    assert at.title[0].value == f"{BRAND}: overview"
    assert "No incident `no-such-incident`" in at.warning[0].value


def test_an_active_incident_opened_before_the_range_is_still_reachable(config):
    at = run_app()
    [link] = [e for e in at.main.get("page_link")]
    assert make_open_incident().id in str(link.proto) and "Active incident" in link.proto.label
    day = (OPENED + timedelta(days=3)).date()
    at.sidebar.date_input[0].set_value((day, day)).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.main.selectbox[0].value == make_open_incident().id
    assert len(at.main.selectbox[0].options) == 1  # the resolved one, outside the range, is not offered


def test_link_to_another_brands_incident_selects_that_brand(config):
    other = make_open_incident().model_copy(update={"id": "skylark-1", "brand": COMPETITOR})
    with SqliteStore(yaml.safe_load(config.read_text())["storage"]["path"]) as store:
        store.save_incident(other)
    at = open_linked("skylark-1")
    assert at.sidebar.selectbox[0].value == COMPETITOR
    assert at.title[0].value == f"{COMPETITOR}: incidents"
    assert at.main.selectbox[0].value == "skylark-1"


def update_for(incident: Incident) -> Notification:
    """A later update of ``incident`` that carried its own key phrases and posts."""
    alert = alert_for(incident)
    summary = {"key_phrases": ["refund page"], "posts": [{"id": "x:late", "text": LATER_TEXT, "author": "@ana",
                                                          "language": "pl", "sentiment": "negative"}]}
    return alert.model_copy(update={"key": f"{incident.id}:update", "kind": "update", "payload": {
        "headline": "Mention spike", "summary": summary}, "created_at": incident.opened_at + timedelta(hours=4)})


def test_story_orders_events_and_falls_back_to_spike_terms():
    incident = make_incident()
    story = story_of(incident, [])
    assert story.events["event"].tolist() == ["state: open", "step 1 done", "state: acknowledged", "step 3 done",
                                              "state: resolved"]
    [said] = story.said
    assert said.key_phrases == ["delayed"] and said.posts.empty
    with_alert = story_of(incident, [alert_for(incident)])
    assert [s.key_phrases for s in with_alert.said] == [KEY_PHRASES]
    assert with_alert.events["at"].is_monotonic_increasing


def test_story_keeps_what_the_alert_and_each_update_said():
    incident = make_incident()
    story = story_of(incident, [update_for(incident), alert_for(incident)])
    assert [s.label.split(",")[0] for s in story.said] == ["alert", "update"]
    assert story.said[0].posts["text"].tolist() == [POST_TEXT]
    assert story.said[1].key_phrases == ["refund page"] and story.said[1].posts["text"].tolist() == [LATER_TEXT]


def test_page_shows_the_latest_update_and_lets_you_go_back_to_the_alert(config):
    with SqliteStore(yaml.safe_load(config.read_text())["storage"]["path"]) as store:
        seeded = store.get_incident(make_incident().id)
        store.save_incident(seeded, [update_for(seeded)])
    at = open_linked(make_incident().id)
    [choice] = at.main.radio
    assert choice.label == "What people were saying, as of" and choice.value.startswith("update")
    assert at.dataframe[3].value["text"].tolist() == [LATER_TEXT]
    assert any("refund page" in m.value for m in at.markdown)
    choice.set_value(choice.options[0]).run()
    assert at.dataframe[3].value["text"].tolist() == [POST_TEXT]
    assert any(all(p in m.value for p in KEY_PHRASES) for m in at.markdown)


@pytest.mark.parametrize(("closed", "now", "second_status"), [  # the second step is due 15 minutes after opening
    (RESOLVED, RESOLVED + timedelta(days=1), "not done, deadline passed"),
    (None, OPENED + timedelta(minutes=1), "due"),
    (OPENED + timedelta(minutes=1), RESOLVED, "not reached (closed before)"),
])
def test_step_deadlines(closed, now, second_status):
    outage = next(p for p in load_playbooks(PLAYBOOKS) if p.id == "outage")
    steps = step_rows(outage, make_incident(), closed, now)
    assert steps["due"].iloc[1] == OPENED + timedelta(minutes=outage.steps[1].due_minutes)
    assert steps["status"].iloc[1] == second_status
    assert steps["status"].iloc[0] == "done on time" and steps["done_at"].iloc[0] == OPENED + timedelta(minutes=9)


def test_the_alerts_figures_agree_with_each_other_and_with_the_dashboards(config):
    """The real summary of the seeded incident's spike, rendered as in Slack, against the incident page
    and the Overview's volume data for the same window."""
    spike = make_incident().spikes[0].model_copy(update={"window_start": OPENED - timedelta(minutes=45)})
    incident = make_incident().model_copy(update={"spikes": [spike], "id": "aurora-air-20251105-0215-real"})
    path = yaml.safe_load(config.read_text())["storage"]["path"]
    with SqliteStore(path) as db:
        summary = summarise(db, spike, {"aurora", "air"}, spike.window_start - timedelta(days=1))
        db.save_incident(incident, [alert_for(incident).model_copy(update={
            "payload": {"headline": HEADLINE, "summary": summary}})])
    rendered = render(AlertMessage(kind="alert", channel="#alerts", incident=incident, headline=HEADLINE,
                                   summary=summary))
    fields = {f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1]
              for f in next(b for b in rendered.blocks if "fields" in b)["fields"]}
    split = summary["sentiment_split"]
    scored = sum(split.values())
    share = f"{split['negative'] / scored:.0%}"
    assert scored >= 2
    assert fields["Negative share in 45 min"].startswith(f"{share} ({split['negative']} of {scored})")
    assert fields["Mentions in 45 min"] == " · ".join(
        f"{icon} {split[label]} {label}" for icon, label in zip("😠😐🙂", ("negative", "neutral", "positive")))
    assert "4.0×" in rendered.blocks[0]["text"]["text"] and "4.0×" in fields["Negative mentions"]

    from monitor.dashboard import data

    window = data.volume(data.StorageConfig(path=path).model_dump_json(), BRAND,
                         spike.window_start, spike.window_end, spike.window_end - spike.window_start)
    counted = window.groupby("sentiment")["count"].sum()
    assert {label: int(counted.get(label, 0)) for label in split} == split

    at = open_linked(incident.id)
    assert metric(at, "Negative share in 45 min") == share
    assert metric(at, "Mentions in 45 min") == f"{scored:,}"
    assert metric(at, "Negative mentions") == "40"
