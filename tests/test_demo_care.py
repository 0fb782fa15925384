"""The demo's customer care: customers' questions to the handles, and the teams' answers (some late)."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta

from monitor.care.masking import mask
from monitor.care.rules import handle_set, judge
from monitor.care.settings import CareConfig
from monitor.care.templates import load_templates
from monitor.demo.care import CareTeam, TeamPolicy, customer_rows
from monitor.demo.scenario import created_at, generate, load_config
from monitor.store.sqlite import SqliteStore
from tests.care_posts import T0, post

TEMPLATES = load_templates()
PNR = re.compile(r"\b[A-Z]\d[A-Z]{2}\d[A-Z]\b")
SETTINGS = load_config()


def test_customer_rows_ask_every_handle_and_rivals_answer_some_late() -> None:
    scenario = generate(quiet_days=2, crisis_hours=2)
    rows = customer_rows(scenario, SETTINGS["care"], SETTINGS["slots"], SETTINGS["authors"], TEMPLATES)
    assert rows == customer_rows(scenario, SETTINGS["care"], SETTINGS["slots"], SETTINGS["authors"], TEMPLATES)
    assert [created_at(r) for r in rows] == sorted(created_at(r) for r in rows)
    by_id = {r["id"]: r for r in rows}
    for handle in ("AuroraAir", "NordwindAir", "SkyLarkAir"):
        assert any(r["text"].startswith(f"@{handle} ") for r in rows)
    answers = [r for r in rows if r.get("is_reply")]
    assert answers and {r["author"] for r in answers} == {"NordwindAir", "SkyLarkAir"}
    waits = [created_at(r) - created_at(by_id[r["parent_id"]]) for r in answers]
    assert all(w > timedelta(0) for w in waits) and any(w > timedelta(hours=2) for w in waits)
    assert all(by_id[r["parent_id"]]["source"] == r["source"] for r in answers)
    references = [(r["text"], found.group()) for r in rows if (found := PNR.search(r["text"]))]
    assert len({lang for r in rows if PNR.search(r["text"]) for lang in [r["language"]]}) >= 5
    assert all(ref not in mask(text) and "[booking ref]" in mask(text) for text, ref in references)


def test_team_policy_shares() -> None:
    policy = TeamPolicy(answer_share=0.8, late_share=0.25, on_time_minutes=(5, 60), late_minutes=(130, 200),
                        per_hour=5)
    rng = random.Random(1)
    waits = [policy.delay(rng) for _ in range(4000)]
    answered = [w for w in waits if w is not None]
    assert abs(len(answered) / 4000 - 0.8) < 0.03
    assert abs(sum(w > timedelta(hours=2) for w in answered) / len(answered) - 0.25) < 0.03


def test_the_care_team_answers_stored_posts_within_its_hourly_capacity(tmp_path) -> None:
    policy = TeamPolicy(answer_share=1.0, late_share=0.0, on_time_minutes=(10, 10), late_minutes=(0, 0), per_hour=2)
    team = CareTeam("Aurora Air", "AuroraAir", CareConfig(), policy, TEMPLATES)
    feed = tmp_path / "mentions.jsonl"
    with SqliteStore(tmp_path / "demo.db") as store:
        store.add_mentions([post(str(n), f"@AuroraAir question {n}?", minute=n) for n in range(3)]
                           + [post("noise", "Aurora Air is fine", minute=1, sentiment="positive")])
        assert team.act(store, T0 + timedelta(minutes=30), feed) == 2  # two this hour, the third waits
        assert team.act(store, T0 + timedelta(minutes=30), feed) == 0
        assert team.act(store, T0 + timedelta(hours=1, minutes=1), feed) == 1
    rows = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    assert [r["parent_id"] for r in rows] == ["0", "1", "2"]
    assert all(r["is_reply"] and r["author"] == "AuroraAir" for r in rows)
    assert [r["created_at"] for r in rows] == ["2026-03-02T09:10:00Z", "2026-03-02T09:11:00Z", "2026-03-02T10:00:00Z"]
    assert rows[0]["text"].startswith("Hi @dana, thanks for asking")


def test_the_brands_answers_are_not_judged_as_customer_posts() -> None:
    answer = post("a", "Hi @dana, thanks for asking! – Aurora Air", author="AuroraAir", reply_to="q")
    assert not judge(answer, handle_set(["AuroraAir"]), CareConfig().rules, {}).needs_reply
