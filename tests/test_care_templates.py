"""Answer templates: every demo language renders, personal data gets the private-message template."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.care.templates import BUILT_IN_TEMPLATES, load_templates, suggest
from monitor.demo.scenario import load_config
from monitor.errors import ConfigError
from tests.care_posts import post

TEMPLATES = load_templates()


@pytest.mark.parametrize("language", sorted(load_config()["languages"]))
def test_every_demo_language_has_templates_that_render(language: str) -> None:
    chosen = TEMPLATES[language]
    for tag in ("question", "complaint", "default", "private"):
        text = chosen.private if tag == "private" else chosen.answers[tag]
        assert "{name}" in text and "{brand}" in text
    mention = post("1", "@AuroraAir gdzie jest mój bagaż?", language=language, name="Kasia")
    rendered = suggest(mention, "question", "Aurora Air", TEMPLATES)
    assert rendered == chosen.answers["question"].replace("{name}", "Kasia").replace("{brand}", "Aurora Air")


def test_personal_data_gets_the_private_message_template() -> None:
    mention = post("1", "@AuroraAir booking ref X7K9PQ cancelled, help", language="de", author="lena")
    assert suggest(mention, "complaint", "Aurora Air", TEMPLATES) == TEMPLATES["de"].private.replace(
        "{name}", "@lena").replace("{brand}", "Aurora Air")


def test_unknown_tags_and_languages_fall_back() -> None:
    mention = post("1", "@AuroraAir hi", language="sw", author="juma")
    assert suggest(mention, "refund", "Aurora Air", TEMPLATES) == TEMPLATES["en"].answers["default"].replace(
        "{name}", "@juma").replace("{brand}", "Aurora Air")


def test_broken_or_incomplete_template_folders_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_templates(tmp_path / "nowhere")
    (tmp_path / "de.yaml").write_text((BUILT_IN_TEMPLATES / "de.yaml").read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match="no en.yaml"):
        load_templates(tmp_path)
    (tmp_path / "en.yaml").write_text("language: en\nanswers: {question: hi}\nprivate: dm us\n")
    with pytest.raises(ConfigError, match="default"):
        load_templates(tmp_path)
