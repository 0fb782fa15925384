import re
from datetime import datetime, timedelta, timezone

import pytest

from monitor.alerts.incidents.engine import IncidentEngine, headline
from monitor.config import AlertsConfig
from monitor.models import IncidentState, Playbook, PlaybookStep, Severity, Spike, SpikeKind
from monitor.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 23, 7, 30, tzinfo=timezone.utc)
BUCKET = timedelta(minutes=15)
PLAYBOOK = Playbook(
    id="outage", title="Service outage", crisis_type="outage", slack_channel="#war-room",
    steps=[PlaybookStep(title="Post a holding statement", owner="Social lead", due_minutes=30)],
    holding_statement={"en": "We are aware and working on it."},
)


def spike(k: int, severity=Severity.MEDIUM, kind=SpikeKind.VOLUME, observed=60.0) -> Spike:
    start = T0 + k * BUCKET
    return Spike(brand="Aurora Air", kind=kind, window_start=start, window_end=start + BUCKET,
                 observed=observed, expected=10, score=8, severity=severity, negative_share=0.7)


@pytest.fixture
def store(tmp_path):
    with SqliteStore(tmp_path / "m.db") as s:
        yield s


@pytest.fixture
def engine(store):
    return IncidentEngine(
        store, AlertsConfig(), channel_for=lambda brand: "#brand-alerts",
        summarise=lambda s: {"key_phrases": ["app down"], "texts": ["the app is down"]},
        match_playbook=lambda incident, texts: PLAYBOOK if "the app is down" in texts else None,
    )


def kinds(store) -> list[str]:
    return [n.kind for n in store.notifications()]


def test_first_spike_opens_an_incident_with_its_playbook_and_one_alert(engine, store):
    now = T0 + BUCKET + timedelta(minutes=5)
    [incident] = engine.handle([spike(0)], now)
    assert incident.state is IncidentState.OPEN
    assert incident.playbook_id == "outage"
    assert incident.slack_channel == "#war-room"
    assert store.get_incident(incident.id) == incident
    [note] = store.notifications()
    assert note.kind == "alert" and note.channel == "#war-room"
    assert note.payload["headline"] == headline(incident, spike(0))
    assert "6.0×" in note.payload["headline"]


def test_volume_and_negative_spikes_of_one_bucket_group_into_one_incident(engine, store):
    touched = engine.handle([spike(0), spike(0, kind=SpikeKind.NEGATIVE)], T0)
    assert len(touched) == 1
    assert len(store.incidents()) == 1
    assert len(touched[0].spikes) == 2
    assert kinds(store) == ["alert"]


def test_a_viral_post_and_the_surge_it_starts_are_one_incident(engine, store):
    engine.handle([spike(0, kind=SpikeKind.VIRAL_POST)], T0 + BUCKET)
    engine.handle([spike(2, kind=SpikeKind.NEGATIVE), spike(2)], T0 + 3 * BUCKET)
    [incident] = store.incidents()
    assert [s.kind for s in incident.spikes] == [SpikeKind.VIRAL_POST, SpikeKind.VOLUME, SpikeKind.NEGATIVE]
    assert kinds(store) == ["alert"]


def test_the_same_bucket_judged_twice_changes_nothing(engine, store):
    engine.handle([spike(0)], T0)
    assert engine.handle([spike(0)], T0 + timedelta(minutes=5)) == []
    assert kinds(store) == ["alert"]


def test_a_long_plateau_stays_one_incident_with_updates_at_the_repeat_interval(engine, store):
    for k in range(4 * 6):
        engine.handle([spike(k)], T0 + (k + 1) * BUCKET)
    assert len(store.incidents()) == 1
    assert len(store.incidents()[0].spikes) == 24
    assert kinds(store) == ["alert", "update"]


def test_growth_escalates_in_the_thread_once_per_level(engine, store):
    engine.handle([spike(0)], T0)
    engine.handle([spike(1, Severity.HIGH)], T0 + BUCKET)
    engine.handle([spike(2, Severity.HIGH)], T0 + 2 * BUCKET)
    engine.handle([spike(3, Severity.CRITICAL)], T0 + 3 * BUCKET)
    assert kinds(store) == ["alert", "escalation", "escalation"]
    assert store.incidents()[0].severity is Severity.CRITICAL


def test_quiet_period_resolves_then_cooldown_reopens_then_a_new_incident(engine, store):
    [first] = engine.handle([spike(0)], T0)
    assert engine.resolve_quiet("Aurora Air", T0 + timedelta(hours=3)) == []
    [resolved] = engine.resolve_quiet("Aurora Air", T0 + timedelta(hours=7))
    assert resolved.state is IncidentState.RESOLVED
    reopened = engine.handle([spike(30)], T0 + timedelta(hours=8))
    assert [i.id for i in reopened] == [first.id]
    assert reopened[0].state is IncidentState.OPEN
    engine.resolve_quiet("Aurora Air", T0 + timedelta(hours=20))
    later = engine.handle([spike(200)], T0 + timedelta(hours=60))
    assert later[0].id != first.id
    assert len(store.incidents()) == 2
    assert kinds(store) == ["alert", "resolved", "update", "resolved", "alert"]


def test_unmatched_incident_keeps_the_default_channel(store):
    engine = IncidentEngine(store, AlertsConfig(), channel_for=lambda b: "#brand-alerts",
                            summarise=lambda s: {}, match_playbook=lambda i, t: None)
    [incident] = engine.handle([spike(0)], T0)
    assert incident.playbook_id is None and incident.slack_channel == "#brand-alerts"


class LateReader:
    """A detector that reads 'no incident yet' and only then, too late, tries to open it."""

    def __init__(self, store, opened_meanwhile):
        self.store, self.opened_meanwhile, self.raced = store, opened_meanwhile, False

    def __getattr__(self, name):
        return getattr(self.store, name)

    def active_incident(self, fingerprint):
        found = self.store.active_incident(fingerprint)
        if not self.raced:
            self.raced = True
            self.opened_meanwhile()
            return None
        return found


def test_two_detectors_opening_one_incident_at_once_open_it_once(tmp_path, engine, store):
    other = SqliteStore(tmp_path / "m.db")
    late = IncidentEngine(LateReader(other, lambda: engine.handle([spike(0)], T0)), AlertsConfig(),
                          channel_for=lambda brand: "#brand-alerts", summarise=lambda s: {},
                          match_playbook=lambda incident, texts: None)
    assert late.handle([spike(0)], T0) == []  # it lost the race, read again and found its spike handled
    assert len(store.incidents()) == 1
    assert kinds(store) == ["alert"]
    other.close()


def test_a_detector_and_a_button_at_once_lose_neither_change(tmp_path, engine, store):
    from monitor.alerts.incidents.lifecycle import Action, apply

    [opened] = engine.handle([spike(0)], T0)
    other = SqliteStore(tmp_path / "m.db")
    late = IncidentEngine(other, AlertsConfig(), channel_for=lambda brand: "#brand-alerts", summarise=lambda s: {},
                          match_playbook=lambda incident, texts: None)
    read_before_the_click = other.active_incident
    other.active_incident = lambda fp: (read_before_the_click(fp),
                                        apply(store, opened.id, Action.ACKNOWLEDGE, "ana", T0))[0]
    late.handle([spike(1, severity=Severity.CRITICAL)], T0 + BUCKET)
    final = store.get_incident(opened.id)
    assert final.state is IncidentState.ACKNOWLEDGED
    assert final.severity is Severity.CRITICAL and len(final.spikes) == 2
    assert sorted(kinds(store)) == ["alert", "escalation", "update"]
    other.close()


def test_the_id_names_no_time_and_a_repeated_tick_finds_the_same_one(engine, store, tmp_path):
    detected = T0 + BUCKET + timedelta(minutes=5)
    [incident] = engine.handle([spike(0)], detected)
    assert re.fullmatch(r"aurora-air-[0-9a-f]{8}", incident.id)
    assert incident.opened_at == detected
    with SqliteStore(tmp_path / "again.db") as again:
        engine_again = IncidentEngine(again, AlertsConfig(), channel_for=lambda brand: "#brand-alerts",
                                      summarise=lambda s: {}, match_playbook=lambda incident, texts: None)
        [repeated] = engine_again.handle([spike(0)], detected + timedelta(minutes=5))
    assert repeated.id == incident.id
