"""One glossary: the definitions the dashboard's tooltips use are the ones docs/glossary.md lists."""

from pathlib import Path

from monitor.glossary import TERMS, help_for

DOC = Path(__file__).resolve().parents[1] / "docs" / "glossary.md"


def test_the_docs_list_every_term_with_the_same_definition():
    text = DOC.read_text(encoding="utf-8")
    for term, definition in TERMS.items():
        assert f"**{term}**\n: {definition}\n" in text, term


def test_tooltips_find_a_term_by_its_plural_or_alias():
    assert help_for("Interactions") == TERMS["interaction"]
    assert help_for("negative mentions") == TERMS["negative share"]
    assert help_for("no such word") == ""
