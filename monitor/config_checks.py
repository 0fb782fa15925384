"""Checks on a config beyond its types (secrets, the YAML's size, leases, what ``run`` needs),
and where in the YAML a problem is (path and line).

``secret_problems`` looks at the parsed YAML before validation (so its problems are reported with
the others); ``runtime_problems`` looks at a validated config the way ``monitor run`` will use
it: the playbooks load, the store can be opened or created, each source can search its query.
``secret_warnings`` names the sources whose credentials are not in the environment: ``run`` starts
without them (the other sources work), but those sources fail until they are set.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from monitor.errors import ConfigError

if TYPE_CHECKING:
    from monitor.config import Config

Problem = tuple[tuple[Any, ...], str]

MAX_EXPANDED_VALUES = 50_000
"""A config whose YAML aliases expand to more values than this is refused (an "alias bomb")."""

_SECRET_KEYS = re.compile(r"(token|secret|password|passwd|api_key|apikey|credentials?)$", re.IGNORECASE)
_SECRET_PARAMS = re.compile(r"^(token|access_token|key|api_key|apikey|secret|password|pass|sig|signature|auth)$",
                            re.IGNORECASE)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_WEBHOOK = re.compile(r"hooks\.slack\.com/(services|workflows|triggers)/", re.IGNORECASE)


def format_path(loc: tuple[Any, ...]) -> str:
    """``("brands", 0, "sources", 1, "url")`` → ``brands[0].sources[1].url``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def line_map(text: str) -> dict[tuple[Any, ...], int]:
    """Map each YAML path to the 1-based line where its value starts."""
    lines: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = path + (key.value,)
                lines[child] = key.start_mark.line + 1
                walk(value, child)
                lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                walk(value, path + (index,))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def located(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> str:
    """``loc`` with the line of its nearest enclosing node that has one: ``storage.url (line 3)``."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return f"{format_path(loc)} (line {lines[loc[:cut]]})"
    return format_path(loc)


def expanded_size(root: yaml.Node | None) -> int:
    """How many values the YAML document has once every alias is expanded (counted, not built)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(value) for value in node.value)
        sizes[id(node)] = total
        return total

    return size(root) if root is not None else 0


def url_secret(value: str) -> str | None:
    """Why a string holding a URL carries a credential (user:password, a secret parameter, a
    Slack webhook), or None."""
    for match in _URL.finditer(value):
        parts = urlsplit(match.group(0))
        if parts.password or (parts.username and parts.scheme not in ("ssh",)):
            return "a URL with a user name or password"
        if any(_SECRET_PARAMS.match(name) for name, _ in parse_qsl(parts.query, keep_blank_values=True)):
            return "a URL with a secret parameter"
        if _WEBHOOK.search(match.group(0)):
            return "a Slack webhook URL (it is a secret)"
    return None


def secret_problems(data: Any, path: tuple[Any, ...] = ()) -> list[Problem]:
    """Secrets written into the file: keys named like one, and URLs that carry a credential."""
    found: list[Problem] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and _SECRET_KEYS.search(key) and isinstance(value, str) and value:
                found.append((path + (key,), "secrets are read from the environment only; "
                              f"remove it and set the variable named by '{key}_env' instead"))
            else:
                found += secret_problems(value, path + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += secret_problems(value, path + (index,))
    elif isinstance(data, str) and (why := url_secret(data)):
        found.append((path, f"{why}: secrets are read from the environment only; remove the credential "
                            "from the file (see the README's Secrets section)"))
    return found


def _interactivity_problems(config: Config) -> list[Problem]:
    """The secret Slack's buttons need in the chosen mode (``monitor run`` refuses to start without it)."""
    slack = config.slack
    mode = slack.interactivity_mode()
    if mode == "socket" and not slack.app_token:
        return [(("slack", "interactivity"), f"Socket Mode needs the app-level token (xapp-…); set {slack.app_token_env}")]
    if mode == "http" and not slack.signing_secret:
        return [(("slack", "interactivity"), f"Slack's HTTP endpoint needs the signing secret; set {slack.signing_secret_env}")]
    return []


def runtime_problems(config: Config) -> list[Problem]:
    """What ``monitor run`` would refuse: playbooks or answer templates that do not load, a store
    path that cannot be created, a query a source cannot search."""
    from monitor.alerts.incidents.playbooks import load_playbooks
    from monitor.collectors.native_query import check_searchable
    from monitor.query import Query

    problems: list[Problem] = []
    try:
        load_playbooks(config.alerts.playbooks_dir)
    except ConfigError as exc:
        problems.append((("alerts", "playbooks_dir"), str(exc)))
    store_file = getattr(config.storage.settings, "path", None)
    if isinstance(store_file, Path) and (why := _unwritable(store_file)):
        problems.append((("storage", "path"), why))
    if config.storage.backend == "elasticsearch":
        from monitor.store.elastic_auth import connection_from_config

        try:
            connection_from_config(config.storage.settings).client_options()
        except ConfigError as exc:
            problems.append((("storage",), str(exc)))
    problems += _interactivity_problems(config)
    if config.care.templates_dir is not None:
        from monitor.care.templates import load_templates

        try:
            load_templates(config.care.templates_dir)
        except ConfigError as exc:
            problems.append((("care", "templates_dir"), str(exc)))
    for b, brand in enumerate(config.brands):
        query = Query.parse(brand.query_text())
        for s, source in enumerate(brand.sources):
            try:
                check_searchable(query, source.type)
            except ConfigError as exc:
                problems.append((("brands", b, "sources", s, "type"), str(exc)))
    return problems


def missing_secrets(config: Config) -> list[Problem]:
    """Enabled sources whose credentials (``secrets_needed`` of their options) are not in the environment."""
    found: list[Problem] = []
    for b, brand in enumerate(config.brands):
        for s, source in enumerate(brand.sources):
            needed = getattr(source.settings, "secrets_needed", None)
            if not source.enabled or needed is None:
                continue
            found += [(("brands", b, "sources", s), f"{brand.name}/{source.key}: environment variable {variable} is "
                       "not set; this source fails on every run until it is")
                      for variable in needed() if not os.environ.get(variable, "").strip()]
    return found


def secret_warnings(config: Config, file: Path) -> list[str]:
    """:func:`missing_secrets` with the YAML path and line of each source."""
    lines = line_map(file.read_text(encoding="utf-8"))
    return [f"{located(loc, lines)}: {message}" for loc, message in missing_secrets(config)]


def _unwritable(path: Path) -> str | None:
    """Why the SQLite file at ``path`` could not be opened or created, or None."""
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else f"{path} cannot be read and written"
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    try:
        tempfile.TemporaryDirectory(dir=folder).cleanup()
    except OSError as exc:
        return f"{path} cannot be created: {folder}: {exc.strerror or exc}"
    return None


def job_intervals(config: Config) -> dict[str, timedelta]:
    """How often each kind of job runs: enabled sources, detection, and the workers' poll."""
    found = {f"brands[{b}].sources[{s}].every": source.every
             for b, brand in enumerate(config.brands) for s, source in enumerate(brand.sources) if source.enabled}
    return {**found, "detection.every": config.detection.every, "workers.poll": config.workers.poll}


def lease_problems(config: Config) -> list[Problem]:
    """A lease must last at least as long as the interval of every job claimed with it."""
    lease = config.workers.lease
    if lease is None:
        return []
    longer = [(where, every) for where, every in job_intervals(config).items() if every > lease]
    if not longer:
        return []
    where, every = max(longer, key=lambda item: item[1])
    return [(("workers", "lease"), f"a lease of {lease} is shorter than {where} ({every}); "
             f"set workers.lease to at least {every}")]
