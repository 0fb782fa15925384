"""The config's plugin parts: each plugin's options validated by the plugin's own ``Config`` model.

A source (``type:``) and the store (``storage.backend:``) carry their plugin's options beside the
name; a notifier's options are the top-level section named after it (``slack:``, ``email:``,
``outbox:``). Each is checked once, when the file is loaded, through the registry (which also
checks the plugin implements its protocol), and the validated model is kept with the config.
:func:`resolve_paths` returns a copy of a validated config with relative paths made absolute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self, Sequence

from pydantic import (BaseModel, ConfigDict, PrivateAttr, SerializationInfo, ValidationError, model_serializer,
                      model_validator)
from pydantic_core import InitErrorDetails, PydanticCustomError

from monitor import registry
from monitor.errors import ConfigError


class PluginChoice(BaseModel):
    """A plugin named by ``plugin_field``, its options beside the name, validated by ``Plugin.Config``.

    :attr:`settings` is the validated options model; serialising writes them back beside the name.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    plugin_group: ClassVar[str]
    plugin_field: ClassVar[str]
    _settings: BaseModel | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _plugin_options(cls, data: Any, handler: Any) -> Self:
        """Validate the fields, then the options with the plugin's model; both sets of problems are reported."""
        errors: list[InitErrorDetails] = []
        try:
            choice = handler(data)
            name, options = getattr(choice, cls.plugin_field), dict(choice.model_extra or {})
        except ValidationError as exc:
            errors = [_detail(tuple(e["loc"]), e["msg"], e.get("input")) for e in exc.errors()]
            raw = data if isinstance(data, dict) else {}
            name = raw.get(cls.plugin_field, cls.model_fields[cls.plugin_field].default)
            options = {key: value for key, value in raw.items() if key not in cls.model_fields}
        settings = None
        if isinstance(name, str):
            try:
                settings = registry.load(cls.plugin_group, name).Config.model_validate(options)
            except ValidationError as exc:
                errors += [_detail(tuple(e["loc"]), e["msg"], e.get("input")) for e in exc.errors()]
            except ConfigError as exc:
                errors.append(_detail((cls.plugin_field,), str(exc), name))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        choice._settings = settings
        return choice

    @model_serializer(mode="wrap")
    def _with_options(self, handler: Any, info: SerializationInfo) -> dict[str, Any]:
        return {**handler(self), **self.settings.model_dump(mode=info.mode)}

    @property
    def settings(self) -> BaseModel:
        """The plugin's options, validated by its ``Config`` model."""
        assert self._settings is not None, "validated on construction"
        return self._settings

    def with_settings(self, settings: BaseModel) -> Self:
        """A copy holding ``settings`` instead (e.g. with its paths resolved)."""
        copy = self.model_copy()
        copy._settings = settings
        return copy


def notifier_sections(title: str, sections: dict[str, Any], chosen: str,
                      settings: Sequence[str]) -> dict[str, BaseModel]:
    """Top-level keys that are not ``settings``, each validated as the options of the notifier it
    names, plus the defaults of every other notifier that has valid ones. The ``chosen`` notifier
    must validate, with or without its section."""
    validated: dict[str, BaseModel] = {}
    errors: list[InitErrorDetails] = []
    notifiers = registry.names(registry.NOTIFIERS)
    for name in sections:
        if name not in notifiers:
            errors.append(_detail((name,), f"unknown section {name!r} (settings: {', '.join(settings)}; "
                                  f"notifier sections: {', '.join(notifiers)})", sections[name]))
    for name in notifiers:
        if name in settings or (name not in sections and name != chosen and not _has_defaults(name)):
            continue
        options = sections.get(name)
        try:
            plugin = registry.load(registry.NOTIFIERS, name)
            validated[name] = plugin.Config.model_validate(options if options is not None else {})
        except ValidationError as exc:
            errors += [_detail((name, *e["loc"]), e["msg"], e.get("input")) for e in exc.errors()]
        except ConfigError as exc:
            errors.append(_detail((name,), str(exc), options))
    if errors:
        raise ValidationError.from_exception_data(title, errors)
    return validated


def section_problems(data: dict[str, Any], settings: Sequence[str]) -> list[tuple[tuple[Any, ...], str]]:
    """The notifier sections' problems in a file whose settings did not validate (the config's own
    check of its sections runs only after its settings validated)."""
    alerts = data.get("alerts") if isinstance(data.get("alerts"), dict) else {}
    chosen = alerts.get("notifier") if isinstance(alerts.get("notifier"), str) else "auto"
    try:
        notifier_sections("Config", {k: v for k, v in data.items() if k not in settings}, chosen, settings)
    except ValidationError as exc:
        return [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
    return []


def _has_defaults(notifier: str) -> bool:
    """Whether the notifier's options are all optional (so it has a section even when none is written)."""
    try:
        registry.load(registry.NOTIFIERS, notifier).Config()
    except (ValidationError, ConfigError):
        return False
    return True


def _detail(loc: tuple[Any, ...], message: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("plugin", "{why}", {"why": message}), loc=loc, input=value)


def resolve_paths(model: BaseModel, base: Path) -> BaseModel:
    """A copy of ``model`` with every relative :class:`Path` made relative to ``base``, nested models
    and plugin options included; a model with its own ``resolved_against(base)`` decides for itself."""
    own = getattr(model, "resolved_against", None)
    if callable(own):
        return own(base)
    changes = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        resolved = _resolve(value, base)
        if resolved is not value:
            changes[name] = resolved
    copy = model.model_copy(update=changes) if changes else model.model_copy()
    if isinstance(copy, PluginChoice):
        copy = copy.with_settings(resolve_paths(copy.settings, base))
    return copy


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, Path):
        return value if value.is_absolute() else base / value
    if isinstance(value, BaseModel):
        return resolve_paths(value, base)
    if isinstance(value, list):
        items = [_resolve(item, base) for item in value]
        return items if any(new is not old for new, old in zip(items, value)) else value
    return value
