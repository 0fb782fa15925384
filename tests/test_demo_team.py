from datetime import timedelta

import pytest

from monitor.demo.scenario import load_config
from monitor.demo.team import Team, TeamAction
from monitor.models import IncidentState
from monitor.store.sqlite import SqliteStore
from test_lifecycle import T0, incident
from test_reminders import PLAYBOOK

ACTIONS = [TeamAction.parse(a) for a in (
    {"after": 12, "by": "maria", "action": "acknowledge"},
    {"after": 5, "by": "tom", "action": "step", "step": 1, "note": "scope confirmed"},
    {"after": 40, "by": "anna", "action": "step", "step": 2},
    {"after": 60, "by": "anna", "action": "step", "step": 9},
)]


def test_actions_play_at_their_own_moment_once_their_time_has_come(tmp_path):
    with SqliteStore(tmp_path / "m.db") as store:
        store.save_incident(incident(playbook_id="outage"))
        team = Team(ACTIONS, [PLAYBOOK])
        assert team.act(store, T0 + timedelta(minutes=4)) == 0
        assert team.act(store, T0 + timedelta(minutes=15)) == 2
        now = store.get_incident("aurora-air-1")
        assert now.state is IncidentState.ACKNOWLEDGED and now.time_in(IncidentState.ACKNOWLEDGED) == T0 + timedelta(minutes=12)
        assert now.step_done(1).at == T0 + timedelta(minutes=5) and now.step_done(1).note == "scope confirmed"
        assert team.act(store, T0 + timedelta(minutes=15)) == 0
        assert team.act(store, T0 + timedelta(hours=2)) == 1  # step 9 does not exist: skipped, not fatal
        again = Team(ACTIONS, [PLAYBOOK])  # after a restart: nothing changes twice
        again.act(store, T0 + timedelta(hours=2))
        final = store.get_incident("aurora-air-1")
        assert [d.number for d in final.steps_done] == [1, 2] and len(final.transitions) == 2
        assert len(store.notifications("aurora-air-1")) == 3


def test_the_bundled_team_is_valid_and_bad_entries_are_refused():
    team = [TeamAction.parse(a) for a in load_config()["team"]]
    assert team and {a.action for a in team} <= {"acknowledge", "mitigate", "step", "resolve"}
    assert team[-1].action == "resolve" and team[-1].after == max(a.after for a in team)  # outcomes need an end
    with pytest.raises(ValueError):
        TeamAction.parse({"after": 1, "by": "x", "action": "dance"})
    with pytest.raises(ValueError):
        TeamAction.parse({"after": 1, "by": "x", "action": "step"})
