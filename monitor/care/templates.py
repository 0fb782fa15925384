"""Answer templates (``templates/<language>.yaml``) and the suggested answer for a care post.

A post with personal data gets the ``private`` template (move to private messages); any other
the answer for its rule's tag, else ``default``. Missing languages fall back to English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.care.masking import has_personal_data
from monitor.errors import ConfigError
from monitor.models import Mention

BUILT_IN_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
"""The answer templates that ship with the package."""
FALLBACK_LANGUAGE = "en"


class AnswerTemplates(BaseModel):
    """The answers of one language; fields ``{name}`` and ``{brand}`` are filled in."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(min_length=2)
    answers: dict[str, str]
    private: str = Field(min_length=1)

    @field_validator("answers")
    @classmethod
    def _has_default(cls, answers: dict[str, str]) -> dict[str, str]:
        if not answers.get("default"):
            raise ValueError("needs a 'default' answer")
        return answers


def load_templates(directory: Path = BUILT_IN_TEMPLATES) -> dict[str, AnswerTemplates]:
    """Every ``*.yaml`` in ``directory`` by language; raises ConfigError naming the broken file."""
    if not Path(directory).is_dir():
        raise ConfigError(f"answer template folder {directory} does not exist")
    found: dict[str, AnswerTemplates] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            templates = AnswerTemplates.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise ConfigError(f"answer template {path}: {exc}") from exc
        found[templates.language] = templates
    if FALLBACK_LANGUAGE not in found:
        raise ConfigError(f"answer templates in {directory}: no {FALLBACK_LANGUAGE}.yaml to fall back on")
    return found


def author_name(mention: Mention) -> str:
    """How to greet the author: their name, else their handle."""
    handle = mention.author.handle
    return mention.author.name or (f"@{handle.lstrip('@')}" if handle else "there")


def suggest(mention: Mention, tag: str, brand: str, templates: Mapping[str, AnswerTemplates]) -> str:
    """The suggested answer to ``mention`` in its language."""
    chosen = templates.get(mention.language or "") or templates[FALLBACK_LANGUAGE]
    text = chosen.private if has_personal_data(mention.text) else chosen.answers.get(tag) or chosen.answers["default"]
    return text.replace("{name}", author_name(mention)).replace("{brand}", brand)
