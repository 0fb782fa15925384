"""Build a ready :class:`~monitor.pipeline.Pipeline` from a validated config."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Sequence

from monitor import registry
from monitor.alerts.incidents.playbooks import load_playbooks
from monitor.alerts.notify.base import Notifier
from monitor.alerts.notify.slack.interactive import ActionHandler, InteractiveServer
from monitor.config import Config
from monitor.models import Playbook
from monitor.nlp.annotate import Annotator, build_scorer
from monitor.pipeline import Pipeline, utcnow
from monitor.store import open_store
from monitor.store.base import Store

log = logging.getLogger(__name__)


def build_notifier(config: Config) -> Notifier:
    """Slack when a bot token is in the environment (or ``alerts.notifier: slack``), else the outbox."""
    choice = config.alerts.notifier
    token = config.slack.token
    if choice == "auto":
        choice = "slack" if token else "outbox"
        if not token:
            log.warning(
                "%s is not set: alerts go to %s and the console instead of Slack",
                config.slack.token_env, config.alerts.outbox,
            )
    plugin = registry.load(registry.NOTIFIERS, choice)
    if choice == "slack":
        return plugin(token=token or "", base_url=config.slack.base_url)
    if choice == "outbox":
        return plugin(config.alerts.outbox)
    return plugin.from_config(config)


def build_pipeline(
    config: Config,
    *,
    clock: Callable[[], datetime] = utcnow,
    notifier: Notifier | None = None,
    annotator: Annotator | None = None,
) -> Pipeline:
    """The store, scorer, notifier and playbooks the config names, wired into a pipeline."""
    return Pipeline(
        config,
        open_store(config.storage),
        annotator or Annotator(build_scorer(config.nlp)),
        notifier or build_notifier(config),
        load_playbooks(config.alerts.playbooks_dir),
        clock=clock,
    )


def build_interactive(config: Config, store: Store, playbooks: Sequence[Playbook] = ()) -> InteractiveServer | None:
    """The Slack button endpoint when ``slack.interactive_port`` is set (it needs the signing secret).

    ``playbooks`` let the steps menu mark playbook steps done.
    """
    if config.slack.interactive_port is None:
        return None
    handler = ActionHandler(store, config.slack.signing_secret, playbooks=playbooks)
    return InteractiveServer(handler, config.slack.interactive_host, config.slack.interactive_port)
