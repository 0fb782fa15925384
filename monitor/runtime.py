"""Build a ready :class:`~monitor.pipeline.Pipeline` from a validated config."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Sequence

from monitor import registry
from monitor.alerts.incidents.playbooks import load_playbooks
from monitor.alerts.notify.base import Notifier
from monitor.alerts.notify.slack.interactive import ActionHandler, Interactivity
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.models import Playbook
from monitor.nlp.annotate import Annotator, build_scorer
from monitor.pipeline import Pipeline, utcnow
from monitor.store import open_store
from monitor.store.base import Store

log = logging.getLogger(__name__)


def notifier_name(config: Config) -> str:
    """The notifier ``alerts.notifier`` names; ``auto`` is Slack when its bot token is in the
    environment, else the outbox."""
    if config.alerts.notifier != "auto":
        return config.alerts.notifier
    if config.slack.token:
        return "slack"
    log.warning("%s is not set: alerts go to %s and the console instead of Slack",
                config.slack.token_env, config.section("outbox").path)
    return "outbox"


def build_notifier(config: Config) -> Notifier:
    """The notifier the config names, built from its own section (``slack:``, ``email:``, ``outbox:``)."""
    name = notifier_name(config)
    return registry.load(registry.NOTIFIERS, name).from_config(config.section(name))


def build_pipeline(
    config: Config,
    *,
    clock: Callable[[], datetime] = utcnow,
    notifier: Notifier | None = None,
    annotator: Annotator | None = None,
    playbooks: Sequence[Playbook] | None = None,
) -> Pipeline:
    """The store, scorer, notifier and playbooks the config names, wired into a pipeline.

    ``playbooks`` replaces the config's folder (``[]`` for work that matches none, such as collecting).
    """
    return Pipeline(
        config,
        open_store(config.storage),
        annotator or Annotator(build_scorer(config.nlp)),
        notifier or build_notifier(config),
        load_playbooks(config.alerts.playbooks_dir) if playbooks is None else list(playbooks),
        clock=clock,
    )


HTTP_PORT = 3000


def build_interactive(config: Config, store: Store, playbooks: Sequence[Playbook] = ()) -> Interactivity | None:
    """How Slack's button presses reach this worker (``slack.interactivity``), or None when off.

    Socket Mode needs the app-level token, the HTTP endpoint the signing secret (both from the
    environment). ``playbooks`` let the steps menu mark playbook steps done.
    """
    slack = config.slack
    mode = slack.interactivity_mode()
    if mode == "off":
        return None
    handler = ActionHandler(store, playbooks, zones=config.zone)
    if mode == "socket":
        from monitor.alerts.notify.slack.socket_mode import SocketModeListener

        if not slack.app_token:
            raise ConfigError(f"slack.interactivity: socket needs the app-level token (xapp-…); set {slack.app_token_env}")
        return SocketModeListener(handler, slack.app_token, slack.base_url)
    from monitor.alerts.notify.slack.http_endpoint import HttpEndpoint

    if not slack.signing_secret:
        raise ConfigError(f"Slack's HTTP endpoint needs the signing secret; set {slack.signing_secret_env}")
    port = HTTP_PORT if slack.interactive_port is None else slack.interactive_port
    return HttpEndpoint(handler, slack.signing_secret, slack.interactive_host, port,
                        max_connections=slack.interactive_max_connections,
                        body_timeout=slack.interactive_timeout, header_timeout=slack.interactive_timeout)
