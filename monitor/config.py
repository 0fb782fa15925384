"""The YAML configuration: loaded once, validated with pydantic, errors named by YAML path."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, SerializationInfo,
                      ValidationError, ValidationInfo, field_validator, model_serializer, model_validator)
from pydantic_core import PydanticCustomError

from monitor import config_checks, registry
from monitor.care.settings import CareConfig
from monitor.config_checks import format_path, line_map, located
from monitor.config_plugins import PluginChoice, notifier_sections, resolve_paths, section_problems
from monitor.daily.settings import DailyDigestConfig
from monitor.durations import Duration, PositiveDuration
from monitor.errors import ConfigError
from monitor.localtime import ZoneName, zone

class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(PluginChoice):
    """One source of one brand; fields beyond these are the collector's options (its ``Config``),
    validated into :attr:`settings`."""

    plugin_group = registry.COLLECTORS
    plugin_field = "type"

    type: str
    name: str = ""
    every: PositiveDuration = timedelta(minutes=5)
    enabled: bool = True

    @property
    def key(self) -> str:
        """The source's name within its brand (defaults to its type)."""
        return self.name or self.type


class BrandConfig(Section):
    name: str = Field(min_length=1)
    query: str = ""
    terms: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list)
    exclusions: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    slack_channel: str | None = None
    timezone: ZoneName | None = None
    sources: list[SourceConfig] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        keys = [s.key for s in sources]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"two sources share the name {dupes[0]!r}; give one a distinct 'name'")
        return sources

    @model_validator(mode="after")
    def _query_parses(self) -> BrandConfig:
        from monitor.query import Query

        try:
            Query.parse(self.query_text())
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def query_text(self) -> str:
        """The brand's query in the query language, built from its fields when not given.

        ``aliases`` (other spellings and scripts) are alternatives to the terms, or to the whole
        ``query`` when one is given.
        """
        aliases = [f'"{a}"' if " " in a else a for a in self.aliases]
        if self.query:
            return " OR ".join([f"({self.query})", *aliases]) if aliases else self.query
        parts = [f'"{t}"' if " " in t else t for t in self.terms + self.aliases]
        parts += [h if h.startswith("#") else f"#{h}" for h in self.hashtags]
        parts += [h if h.startswith("@") else f"@{h}" for h in self.handles]
        positive = " OR ".join(parts) or f'"{self.name}"'
        negative = " ".join(f'-"{e}"' if " " in e else f"-{e}" for e in self.exclusions)
        return f"{positive} {negative}".strip()


class StorageConfig(PluginChoice):
    """The store: ``backend`` names it, the fields beside it are its options (its ``Config``)."""

    plugin_group = registry.STORES
    plugin_field = "backend"

    backend: str = "sqlite"

    @property
    def retention(self) -> timedelta | None:
        """How long mentions are kept (the store's ``retention`` option; None: for ever)."""
        return getattr(self.settings, "retention", None)


class NlpConfig(Section):
    backend: Literal["auto", "transformers", "offline", "offline-head"] = "auto"
    model: str = "cardiffnlp/twitter-xlm-roberta-base-sentiment"
    batch_size: int = Field(default=32, ge=1, le=1024)
    max_length: int = Field(default=128, ge=8, le=512)
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    threads: int | None = Field(default=None, ge=1, le=256)
    quantize: bool = False
    uncertain_below: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("quantize")
    @classmethod
    def _quantize_float32_only(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("dtype") not in ("auto", "float32"):
            raise ValueError("int8 quantization starts from float32 weights; use dtype auto or float32")
        return value


class VolumeRule(Section):
    z: float = Field(default=4.0, gt=0)
    min_count: int = Field(default=12, ge=1)
    min_ratio: float = Field(default=2.0, ge=1.0)
    min_negative_lift: float = Field(default=0.1, ge=-1, le=1)


class NegativeRule(Section):
    z: float = Field(default=4.5, gt=0)
    min_count: int = Field(default=6, ge=1)
    min_share: float = Field(default=0.35, gt=0, le=1)
    min_shift: float = Field(default=0.15, gt=0, le=1)


class SurgeRule(Section):
    """The streaming surge detector (monitor/alerts/detect/streaming.py); see docs/detection.md."""

    z: float = Field(default=5.0, gt=0)
    windows: list[PositiveDuration] = Field(
        default_factory=lambda: [timedelta(minutes=m) for m in (5, 30, 120, 480)], min_length=1, max_length=8
    )
    season_days: int = Field(default=7, ge=1, le=28)
    season_width: int = Field(default=1, ge=0, le=6)
    weekly_ratio: float = Field(default=0.7, ge=0, le=1)
    scale_history: PositiveDuration = timedelta(days=7)
    min_scale_points: int = Field(default=24, ge=2)
    count_floor: float = Field(default=1.0, ge=0)
    record_span: PositiveDuration = timedelta(days=7)
    record_ratio: float = Field(default=0.5, ge=0, le=2)
    drop_ratio: float = Field(default=1.4, ge=1)
    refractory: Duration = timedelta(days=1)
    rearm_ratio: float = Field(default=2.0, ge=1)
    range_margin: float | None = Field(default=0.05, ge=0)
    range_rest: Duration = timedelta(hours=3)
    familiar_span: PositiveDuration = timedelta(minutes=30)
    familiar_tolerance: float | None = Field(default=0.06, ge=0)
    warmup: Duration = timedelta(days=2)


class ViralRule(Section):
    """A single post whose engagement or reach outgrows the brand's usual posts."""

    min_engagement: int = Field(default=1000, ge=1)
    min_ratio: float = Field(default=20.0, ge=1)
    min_rate: float = Field(default=500.0, gt=0)
    lookback: PositiveDuration = timedelta(hours=3)
    history: PositiveDuration = timedelta(days=7)
    min_history: int = Field(default=50, ge=1)
    sample: int = Field(default=500, ge=10)
    skip_positive: bool = True
    enabled: bool = True


class DetectionConfig(Section):
    bucket: PositiveDuration = timedelta(minutes=15)
    lag: Duration = timedelta(minutes=5)
    every: PositiveDuration = timedelta(minutes=5)
    history: PositiveDuration = timedelta(days=28)
    warmup: Duration = timedelta(days=3)
    window: int = Field(default=2, ge=1, le=12)
    volume: VolumeRule = Field(default_factory=VolumeRule)
    negative: NegativeRule = Field(default_factory=NegativeRule)
    surge: SurgeRule = Field(default_factory=SurgeRule)
    viral: ViralRule = Field(default_factory=ViralRule)


class AlertsConfig(Section):
    playbooks_dir: Path = Path("playbooks")
    cooldown: Duration = timedelta(hours=2)
    repeat_interval: PositiveDuration = timedelta(hours=4)
    resolve_after: PositiveDuration = timedelta(hours=6)
    notifier: str = "auto"

    @field_validator("notifier")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name != "auto":
            try:
                registry.load(registry.NOTIFIERS, name)
            except ConfigError as exc:
                raise PydanticCustomError("plugin", "{why}", {"why": str(exc)}) from None
        return name


class SlackConfig(Section):
    channel: str = "#brand-alerts"
    base_url: str | None = None
    token_env: str = "SLACK_BOT_TOKEN"
    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    dashboard_url: str = "http://localhost:8501"
    # how button presses reach `monitor run`: auto is socket when the app-level token is set,
    # else http when interactive_port is set, else off
    interactivity: Literal["auto", "socket", "http", "off"] = "auto"
    app_token_env: str = "SLACK_APP_TOKEN"
    interactive_host: str = "127.0.0.1"
    interactive_port: int | None = Field(default=None, ge=0, le=65535)  # unset with http: 3000
    interactive_max_connections: int = Field(default=100, ge=1, le=10_000)
    interactive_timeout: PositiveDuration = timedelta(seconds=10)  # for the headers, then for the body

    @property
    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None

    @property
    def signing_secret(self) -> str | None:
        return os.environ.get(self.signing_secret_env) or None

    @property
    def app_token(self) -> str | None:
        return os.environ.get(self.app_token_env) or None

    def interactivity_mode(self) -> Literal["socket", "http", "off"]:
        """What ``interactivity`` means here, ``auto`` resolved against the environment."""
        if self.interactivity != "auto":
            return self.interactivity
        if self.app_token:
            return "socket"
        return "http" if self.interactive_port is not None else "off"


MIN_LEASE = timedelta(minutes=5)


class WorkersConfig(Section):
    """How the ``monitor run`` processes on one store share the work (see docs/architecture.md)."""

    # how long a claim on a job or a notification holds; a dead worker's work is taken over after it.
    # Unset: the longest job interval, at least MIN_LEASE. Never shorter than a job's interval.
    lease: Duration | None = None
    # jobs one worker runs at the same time
    capacity: int = Field(default=4, ge=1, le=64)
    # how often a worker looks for due work and delivers
    poll: Duration = timedelta(seconds=5)


class Config(Section):
    """The whole file. Top-level keys beyond these are notifier sections (``email:``, ``outbox:``),
    each validated by the notifier of that name; ``slack:`` is the Slack notifier's section."""

    model_config = ConfigDict(extra="allow", frozen=True)

    timezone: ZoneName = "UTC"
    storage: StorageConfig = Field(default_factory=StorageConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    nlp: NlpConfig = Field(default_factory=NlpConfig)
    detection: DetectionConfig = Field(default_factory=DetectionConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    care: CareConfig = Field(default_factory=CareConfig)
    daily_digest: DailyDigestConfig = Field(default_factory=DailyDigestConfig)
    brands: list[BrandConfig] = Field(min_length=1)
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _outbox_short_form(cls, data: Any) -> Any:
        """``alerts.outbox: PATH`` (the older spelling) is ``outbox: {path: PATH}``."""
        alerts = data.get("alerts") if isinstance(data, dict) else None
        if not isinstance(alerts, dict) or "outbox" not in alerts:
            return data
        if "outbox" in data:
            raise ValueError("alerts.outbox and an outbox: section both name the outbox; keep the outbox: section")
        rest = {key: value for key, value in alerts.items() if key != "outbox"}
        return {**data, "alerts": rest, "outbox": {"path": alerts["outbox"]}}

    @model_validator(mode="after")
    def _notifier_sections(self) -> Config:
        chosen = self.alerts.notifier
        settings = type(self).model_fields
        sections = notifier_sections(type(self).__name__, dict(self.model_extra or {}),
                                     "auto" if chosen in settings else chosen, list(settings))
        object.__setattr__(self, "__pydantic_extra__", {})
        self._sections = sections
        return self

    @model_serializer(mode="wrap")
    def _with_sections(self, handler: Any, info: SerializationInfo) -> dict[str, Any]:
        return {**handler(self), **{name: s.model_dump(mode=info.mode) for name, s in self._sections.items()}}

    def section(self, notifier: str) -> BaseModel:
        """The options of the notifier named ``notifier`` (its section, or its defaults when absent)."""
        if notifier in type(self).model_fields:
            return getattr(self, notifier)
        if notifier in self._sections:
            return self._sections[notifier]
        plugin = registry.load(registry.NOTIFIERS, notifier)
        try:
            return plugin.Config()
        except ValidationError as exc:
            problems = [(f"{notifier}.{format_path(tuple(e['loc']))}", e["msg"]) for e in exc.errors()]
            raise ConfigError(f"the {notifier} notifier needs its '{notifier}:' section", problems) from None

    @property
    def lease(self) -> timedelta:
        """The lease every claim is taken with (``workers.lease``, or its default)."""
        return self.workers.lease or max([MIN_LEASE, *config_checks.job_intervals(self).values()])

    def zone(self, brand: str | None = None) -> ZoneInfo:
        """The time zone times are shown in: the brand's ``timezone``, else the global one."""
        found = next((b for b in self.brands if brand and b.name.casefold() == brand.casefold()), None)
        return zone(found.timezone if found and found.timezone else self.timezone)

    def brand(self, name: str) -> BrandConfig:
        for brand in self.brands:
            if brand.name.casefold() == name.casefold():
                return brand
        known = ", ".join(b.name for b in self.brands)
        raise ConfigError(f"no brand named {name!r} (configured: {known})")

    def resolve_paths(self, base: Path) -> Config:
        """A copy with relative file paths made relative to ``base`` (the config file's folder)."""
        copy = resolve_paths(self, base)
        assert isinstance(copy, Config)
        copy._sections = {name: resolve_paths(section, base) for name, section in self._sections.items()}
        return copy


def parse(text: str, source_name: str = "<config>") -> Config:
    """Validate YAML text; raises :class:`ConfigError` listing every problem found."""
    try:
        size = config_checks.expanded_size(yaml.compose(text, Loader=yaml.SafeLoader))
        if size > config_checks.MAX_EXPANDED_VALUES:
            raise ConfigError(f"{source_name}: its YAML aliases expand to {size:,} values, more than "
                              f"{config_checks.MAX_EXPANDED_VALUES:,}; write the values out instead of nesting aliases")
        data = yaml.safe_load(text)
        lines = line_map(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{source_name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source_name}: expected a mapping with a 'brands' list at the top level")
    problems = config_checks.secret_problems(data)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        problems += section_problems(data, list(Config.model_fields))
    else:
        problems += config_checks.lease_problems(config)
    if problems:
        raise ConfigError(
            f"{source_name}: {len(problems)} problem(s)",
            [(located(loc, lines), msg) for loc, msg in problems],
        )
    return config


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {file}: {getattr(exc, 'strerror', None) or exc}") from exc


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate the config file at ``path``; relative paths are resolved beside it."""
    file = Path(path)
    return parse(_read(file), str(file)).resolve_paths(file.resolve().parent)


def check(path: str | os.PathLike[str]) -> Config:
    """:func:`load`, then every check ``monitor run`` makes before it starts (playbooks load, the
    store can be created, each source can search its query), problems named by YAML path and line."""
    file = Path(path)
    text = _read(file)
    config = parse(text, str(file)).resolve_paths(file.resolve().parent)
    problems = config_checks.runtime_problems(config)
    if problems:
        lines = line_map(text)
        raise ConfigError(f"{file}: {len(problems)} problem(s)", [(located(loc, lines), msg) for loc, msg in problems])
    return config
