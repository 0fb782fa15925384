"""``monitor demo``: replay the bundled crisis through the real pipeline on a simulated clock."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import yaml
from tqdm import tqdm

from monitor import config as config_lib
from monitor.alerts.incidents.playbooks import BUILT_IN_PLAYBOOKS
from monitor.alerts.incidents.steps import timing
from monitor.alerts.notify.base import Notifier
from monitor.alerts.notify.story import duration
from monitor.alerts.notify.story import peak_text, story, title
from monitor.care.service import care_rows
from monitor.care.templates import BUILT_IN_TEMPLATES, load_templates
from monitor.demo.care import CareTeam, TeamPolicy, customer_rows, rival_brands
from monitor.demo.competitors import COMPETITORS, competitor_rows
from monitor.demo.scenario import Scenario, generate, load_config
from monitor.demo.team import Team, TeamAction
from monitor.models import Incident, IncidentState
from monitor.nlp.annotate import Annotator
from monitor.pipeline import Pipeline
from monitor.runtime import build_pipeline
from monitor.store.base import MentionFilter

PLAYBOOKS = BUILT_IN_PLAYBOOKS
MINUTE = timedelta(minutes=1)
SOURCE = "import"
RIVALS = "competitors.jsonl"
CHATTER = "chatter"


def demo_config(workdir: Path, scenario: Scenario) -> dict:
    """The config the demo runs with: SQLite in ``workdir``, one file-import source; the competitors as
    brands with handles, their customers' questions in the same file and their everyday chatter in a
    file of their own (see :mod:`monitor.demo.care` and :mod:`monitor.demo.competitors`)."""
    care = load_config()["care"]
    source = {"type": "file", "name": SOURCE, "every": "15m", "path": "mentions.jsonl"}
    chatter = {"type": "file", "name": CHATTER, "every": "1h", "path": RIVALS}
    return {
        "storage": {"backend": "sqlite", "path": "demo.db"},
        "nlp": {"backend": "auto"},
        "detection": {"bucket": "15m", "lag": "5m", "every": "15m", "warmup": "3d"},
        "alerts": {"playbooks_dir": str(PLAYBOOKS)},
        "outbox": {"path": "outbox.jsonl"},
        "slack": {"channel": "#aurora-air-alerts"},
        "brands": [
            {
                "name": scenario.brand,
                "query": scenario.query,
                "handles": [care["handle"]],
                "competitors": [r["name"] for r in care["rivals"]],
                "sources": [source],
            },
            *({**rival, "sources": [*rival["sources"], chatter]} for rival in rival_brands(care, source)),
        ],
    }


@dataclass
class Replay:
    """Feeds the scenario's rows into the import file tick by tick and runs the pipeline."""

    scenario: Scenario
    workdir: Path
    tick: timedelta = timedelta(minutes=15)
    offset: timedelta = timedelta(minutes=5)
    written: int = field(default=0, init=False)
    team: Team | None = field(default=None, init=False)
    care_team: CareTeam | None = field(default=None, init=False)
    rivals: list[dict] = field(default_factory=list, init=False)
    rivals_written: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "monitor.yaml"
        if not self.config_path.exists():
            self.config_path.write_text(yaml.safe_dump(demo_config(self.workdir, self.scenario), sort_keys=False))
        self.feed = self.workdir / "mentions.jsonl"
        self.feed.touch()
        handles = {rival["name"]: rival["handle"] for rival in load_config()["care"]["rivals"]}
        self.rivals = competitor_rows(self.scenario, handles)
        (self.workdir / RIVALS).touch()
        self.config = config_lib.load(self.config_path)
        settings = load_config()
        self.templates = load_templates(self.config.care.templates_dir or BUILT_IN_TEMPLATES)
        extra = customer_rows(self.scenario, settings["care"], settings["slots"], settings["authors"], self.templates)
        self.rows = sorted([*self.scenario.rows, *extra], key=_created)

    def ticks(self) -> Iterator[datetime]:
        moment = self.scenario.start + self.tick + self.offset
        while moment <= self.scenario.end + self.tick + self.offset:
            yield moment
            moment += self.tick

    def due(self, every: timedelta, now: datetime) -> bool:
        """Whether a source collected ``every`` so often runs at tick ``now`` (every tick at most)."""
        return (now - self.scenario.start - self.tick - self.offset) % every < self.tick

    def pipeline(self, notifier: Notifier | None = None, annotator: Annotator | None = None) -> Pipeline:
        return build_pipeline(self.config, notifier=notifier, annotator=annotator)

    def arrive(self, now: datetime) -> None:
        """Append to the import files every row created before ``now`` (what was posted by then)."""
        self.written = _append(self.feed, self.rows, self.written, now)
        self.rivals_written = _append(self.workdir / RIVALS, self.rivals, self.rivals_written, now)

    def step(self, pipeline: Pipeline, now: datetime) -> list[Incident]:
        """One tick: posts arrive, are collected and judged, the simulated teams act, alerts go out."""
        self.arrive(now)
        for brand in self.config.brands:
            for source in brand.sources:
                if self.due(source.every, now):
                    pipeline.collect(brand.name, source.key, now=now)
        incidents = pipeline.detect(now=now)
        if self.team is None:
            self.team = Team([TeamAction.parse(a) for a in load_config().get("team", [])], pipeline.playbooks)
        self.team.act(pipeline.store, now)
        if self.care_team is None:
            care = load_config()["care"]
            self.care_team = CareTeam(self.scenario.brand, care["handle"], self.config.care,
                                      TeamPolicy.parse(care["team"]), self.templates)
        self.care_team.act(pipeline.store, now, self.feed)
        pipeline.deliver(now=now)
        return incidents


def _created(row: dict) -> datetime:
    return datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))


def _append(path: Path, rows: list[dict], written: int, now: datetime) -> int:
    """Append ``rows[written:]`` created before ``now`` to ``path``; returns how many are written now."""
    end = written
    while end < len(rows) and _created(rows[end]) < now:
        end += 1
    if end > written:
        with path.open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows[written:end])
    return end


def _report(replay: Replay, pipeline: Pipeline, seconds: float, echo: Callable[[str], None]) -> None:
    scenario = replay.scenario
    store = pipeline.store
    incidents = sorted(store.incidents(), key=lambda i: i.opened_at)
    stored = store.count(MentionFilter(brands=[scenario.brand]))
    echo("")
    echo(f"Replayed {len(replay.rows) + len(replay.rivals):,} posts over {(scenario.end - scenario.start).days} days "
         f"in {seconds:.0f} s; {stored:,} matched the query for {scenario.brand} and were stored "
         "(its care team's answers included).")
    rivals = ", ".join(f"{name} {store.count(MentionFilter(brands=[name])):,}" for name in COMPETITORS)
    echo(f"Competitors' mentions stored (share of voice on the dashboard's Overview): {rivals}.")
    echo(f"Sentiment: {pipeline.annotator.scorer_name}")
    echo(f"Crisis started:  {scenario.crisis_start:%a %Y-%m-%d %H:%M} UTC")
    if not incidents:
        echo("No incident was opened.")
        return
    for incident in incidents:
        delay = incident.opened_at - scenario.crisis_start
        echo(f"Incident detected at {incident.opened_at:%a %Y-%m-%d %H:%M} UTC "
             f"({delay.total_seconds() / 60:+.0f} min after the crisis started; its first spike window "
             f"began {incident.spikes[0].window_start:%H:%M})")
        echo(f"  {title(incident)}: id {incident.id}, severity {incident.severity.word}, "
             f"state {incident.state.value}, {len(incident.spikes)} spike(s), peak {peak_text(incident) or 'none'}")
        acknowledged = incident.time_in(IncidentState.ACKNOWLEDGED)
        resolved = incident.time_in(IncidentState.RESOLVED)
        if acknowledged:
            echo(f"  the simulated team acknowledged it after {duration((acknowledged - incident.opened_at) / MINUTE)}"
                 + (f", resolved it after {duration((resolved - incident.opened_at) / MINUTE)}" if resolved else "")
                 + f" and marked {len(incident.steps_done)} playbook step(s) done (see `team` in scenario.yaml)")
        playbook = next((p for p in pipeline.playbooks if p.id == incident.playbook_id), None)
        if playbook:
            echo(f"  playbook: {playbook.title}")
            for number, step in enumerate(playbook.steps[:4], start=1):
                due = incident.opened_at + timedelta(minutes=step.due_minutes)
                done = incident.step_done(number)
                echo(f"    - {step.title} ({step.owner}, by {due:%H:%M})"
                     + (f": done by {done.by} at {done.at:%H:%M}, {timing(done)}" if done else ""))
            echo(f"  holding statement: {playbook.holding_statement_for('en', incident.brand).strip()}")
    notes = store.notifications()
    sent = [n for n in notes if n.status.value == "sent"]
    echo(f"Alerts: {len(sent)} of {len(notes)} notification(s) delivered "
         f"({', '.join(sorted({n.kind for n in notes}))}).")
    first = next((n for n in notes if n.kind == "alert"), None)
    if first:
        opened = next(i for i in incidents if i.id == first.incident_id)
        echo(f"  Slack alert to {first.channel}: {story(opened, first.payload['summary'])}")
        phrases = first.payload["summary"].get("key_phrases", [])
        if phrases:
            echo(f"  key phrases: {', '.join(phrases)}")
        for post in first.payload["summary"].get("posts", []):
            echo(f"  post [{post.get('language')}, {post.get('sentiment')}]: {post['text'][:110]}")
    if replay.config.slack.token is None:
        outbox = replay.config.section("outbox").path
        echo(f"  (no SLACK_BOT_TOKEN: the Block Kit messages are in {outbox})")
        for chart in sorted(outbox.parent.glob("*-spike.png")):
            echo(f"  spike chart: {chart}")
    _report_care(replay, pipeline, echo)
    echo("")
    echo(f"Open the dashboard on this run:  monitor dashboard --config {replay.config_path}")


def _report_care(replay: Replay, pipeline: Pipeline, echo: Callable[[str], None]) -> None:
    """One line per airline: how its team answered its customers over the whole replay."""
    scenario = replay.scenario
    rows = care_rows(pipeline.store, replay.config, list(replay.config.brands), scenario.start,
                     scenario.end + replay.tick + replay.offset)
    echo("Customer care (the simulated teams answer posts to their handles; `monitor report care` has all figures):")
    for row in (r for r in rows if not r.source):
        median = row.median_first_response_minutes
        echo(f"  {row.brand}: {row.replied} of {row.needing_reply} posts answered"
             + (f", median first answer {median:.0f} min, {row.within_target_share:.0%} within target"
                if median is not None else ""))


def run_demo(
    workdir: Path | None = None,
    *,
    quiet_days: int = 14,
    echo: Callable[[str], None] = print,
    notifier: Notifier | None = None,
    annotator: Annotator | None = None,
) -> Pipeline:
    """Run the whole demo and print what happened; returns the pipeline for inspection."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    scenario = generate(quiet_days=quiet_days)
    replay = Replay(scenario, workdir)
    echo(f"Demo workspace: {workdir}")
    echo(f"Brand: {scenario.brand}   query: {scenario.query}")
    pipeline = replay.pipeline(notifier=notifier, annotator=annotator)
    started = time.monotonic()
    ticks = list(replay.ticks())
    for now in tqdm(ticks, desc="replaying", unit="tick", file=sys.stderr, mininterval=0.5):
        replay.step(pipeline, now)
    _report(replay, pipeline, time.monotonic() - started, echo)
    return pipeline
