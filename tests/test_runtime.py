import logging

import pytest

from monitor import config as config_lib
from monitor.alerts.notify.email.notifier import EmailNotifier
from monitor.alerts.notify.slack.notifier import SlackNotifier
from monitor.alerts.notify.slack.outbox import OutboxNotifier
from monitor.errors import ConfigError
from monitor.runtime import build_notifier


def make(tmp_path, **alerts):
    return config_lib.parse(
        "brands: [{name: Acme, query: acme}]\n"
        f"alerts: {{outbox: {tmp_path / 'out.jsonl'}, {', '.join(f'{k}: {v}' for k, v in alerts.items())}}}\n"
    )


def test_without_a_token_alerts_go_to_the_outbox_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    with caplog.at_level(logging.WARNING):
        notifier = build_notifier(make(tmp_path))
    assert isinstance(notifier, OutboxNotifier)
    assert "SLACK_BOT_TOKEN is not set" in caplog.text


def test_a_token_in_the_environment_selects_slack_and_never_logs_it(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    with caplog.at_level(logging.DEBUG):
        notifier = build_notifier(make(tmp_path))
    assert isinstance(notifier, SlackNotifier)
    assert "xoxb-secret-value" not in caplog.text


def test_an_explicit_notifier_wins_and_unknown_ones_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    assert isinstance(build_notifier(make(tmp_path, notifier="outbox")), OutboxNotifier)
    with pytest.raises(ConfigError, match="alerts.notifier .*unknown notifier 'pager' \\(known: email, outbox, slack"):
        make(tmp_path, notifier="pager")


def test_every_notifier_is_built_from_its_own_section(tmp_path, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    config = config_lib.parse(
        "brands: [{name: Acme, query: acme}]\n"
        "alerts: {notifier: email}\n"
        f"email: {{host: 127.0.0.1, port: 2525, sender: alerts@acme.example, to: [pr@acme.example], "
        f"journal: {tmp_path / 'sent.jsonl'}}}\n"
    )
    notifier = build_notifier(config)
    assert isinstance(notifier, EmailNotifier)
    assert notifier.settings == config.section("email") and notifier.settings.port == 2525
    outbox = config_lib.parse(f"brands: [{{name: Acme, query: acme}}]\noutbox: {{path: {tmp_path / 'o.jsonl'}}}\n")
    assert build_notifier(outbox).path == tmp_path / "o.jsonl"  # auto, without a token
