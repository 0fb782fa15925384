"""The ``care:`` config section: defaults, per-source targets, rules validated with YAML paths."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.config import parse
from monitor.errors import ConfigError


def test_defaults_answer_questions_and_complaints_within_two_hours() -> None:
    care = parse("brands: [{name: X}]").care
    assert care.target == timedelta(hours=2) and care.alert_share == 0.75
    assert [(r.name, r.question, r.sentiments) for r in care.rules] == [("question", True, []),
                                                                       ("complaint", None, ["negative"])]


def test_per_source_target_overrides_the_default() -> None:
    care = parse("brands: [{name: X}]\ncare: {target: 1h, targets: {reddit: 4h}}").care
    assert care.target_for("reddit") == timedelta(hours=4) and care.target_for("twitter") == timedelta(hours=1)


@pytest.mark.parametrize(("yaml_text", "where"), [
    ("care: {target: 0s}", "care.target"),
    ("care: {targets: {reddit: soon}}", "care.targets.reddit"),
    ("care: {alert_share: 1.5}", "care.alert_share"),
    ("care: {rules: [{name: q, action: escalate}]}", "care.rules[0].action"),
    ("care: {rules: [{name: q, sentiments: [angry]}]}", "care.rules[0].sentiments[0]"),
    ("care: {rules: [{keywords: [refund]}]}", "care.rules[0].name"),
    ("care: {surprise: 1}", "care.surprise"),
])
def test_bad_care_settings_are_named_by_path(yaml_text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(f"brands: [{{name: X}}]\n{yaml_text}")
    assert any(place.startswith(where) for place, _ in caught.value.problems)
