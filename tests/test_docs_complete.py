"""The docs keep up with the code: every config key, CLI command, exit code and module is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from monitor import config as config_lib
from monitor import registry
from monitor.cli import cli
from monitor.errors import MonitorError

ROOT = Path(__file__).resolve().parents[1]
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
QUOTED = set(re.findall(r"`([^`\n]+)`", DOCS.replace("```", "\n")))
QUOTED_WORDS = {word for text in QUOTED for word in re.findall(r"\w+", text)}


def config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted keys of a config model, nested models and lists of models included."""
    keys = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        keys.append(key)
        for kind in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                keys += config_keys(kind, f"{key}.")
    return keys


def plugin_keys() -> list[str]:
    """Dotted keys of every store's options (beside ``storage.backend``) and every notifier's section."""
    keys = []
    for name in registry.names(registry.STORES):
        keys += config_keys(registry.load(registry.STORES, name).Config, "storage.")
    for name in registry.names(registry.NOTIFIERS):
        keys += config_keys(registry.load(registry.NOTIFIERS, name).Config, f"{name}.")
    return keys


def commands(group: click.Group, prefix: str = "monitor") -> list[str]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found.append(path)
        if isinstance(command, click.Group):
            found += commands(command, path)
    return found


@pytest.mark.parametrize("key", sorted(set(config_keys(config_lib.Config) + plugin_keys())))
def test_every_config_key_is_documented(key):
    assert key.rsplit(".", 1)[-1] in QUOTED_WORDS, f"config key {key} appears in no README or docs page (in `code`)"


@pytest.mark.parametrize("name", registry.names(registry.COLLECTORS))
def test_every_collector_option_is_documented(name):
    text = (ROOT / "docs" / "collectors.md").read_text(encoding="utf-8")
    spans = re.findall(r"`([^`\n]+)`", text.replace("```", "\n"))
    documented = {word for span in spans for word in re.findall(r"\w+", span)}
    documented |= set(re.findall(r"^\s*-?\s*(\w+):", text, re.MULTILINE))
    options = registry.load(registry.COLLECTORS, name).Config.model_fields
    missing = [o for o in options if o not in documented]
    assert not missing, f"{name} options missing from docs/collectors.md: {missing}"


@pytest.mark.parametrize("command", commands(cli))
def test_every_command_is_documented(command):
    *parent, last = command.split(" ")
    written = re.compile(rf"{' '.join(parent)} [\w|-]*(?<![\w-]){re.escape(last)}(?![\w-])")
    assert written.search(DOCS), f"`{command}` appears in no README or docs page"


def test_every_exit_code_is_documented():
    codes = {cls.exit_code for cls in _subclasses(MonitorError)} | {0, 1}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Exit codes"):]
    for code in sorted(codes):
        assert re.search(rf"^\| {code} \| \w", table, re.MULTILINE), f"exit code {code} is not in the README's table"


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
MODULE_ROWS = {row.split("`")[1]: row for row in ARCHITECTURE.splitlines() if row.startswith("| `monitor/")}


def documented_in_architecture(module: Path) -> bool:
    """Named by its path (from the project or from ``monitor/``), or by its file name in the row of
    its folder or of the nearest folder above it that has a row."""
    path = module.relative_to(ROOT).as_posix()
    if f"`{path}`" in ARCHITECTURE or f"`{path.removeprefix('monitor/')}`" in ARCHITECTURE:
        return True
    for folder in module.relative_to(ROOT).parents:
        row = MODULE_ROWS.get(f"{folder.as_posix()}/")
        if row is not None:
            return f"`{module.name}`" in row or f"`{module.relative_to(ROOT / folder).as_posix()}`" in row
    return False


@pytest.mark.parametrize("module", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "monitor").rglob("*.py")
                                          if p.name not in ("__init__.py", "__main__.py")))
def test_every_module_is_in_the_architecture_doc(module):
    assert documented_in_architecture(ROOT / module), f"docs/architecture.md does not name {module}"
