"""``monitor query test``: why a text matches a brand's query, or why not."""

from __future__ import annotations

from pathlib import Path

import click

from monitor import inflection
from monitor.cli_config import ConfigCommand, config_option
from monitor.query import Explanation, Query


@click.group("query")
def query_group() -> None:
    """The brand query language."""


@query_group.command("test", cls=ConfigCommand)
@config_option()
@click.argument("text")
@click.option("--brand", "brand_name", required=True, help="Brand name as in the config.")
@click.option("--language", help="The post's language (ISO 639-1); identified from the text when left out.")
@click.option("--author", help="The post's author handle (matches @handle terms).")
def query_test(path: Path, text: str, brand_name: str, language: str | None, author: str | None) -> None:
    """Say whether TEXT matches the brand's query, which term matched which word, and by which rule."""
    from monitor import config as config_lib
    from monitor.nlp.language import detect_language

    brand = config_lib.load(path).brand(brand_name)
    query = Query.parse(brand.query_text())
    if language:
        languages, how = [language], "given"
    elif detected := detect_language(text, brand.languages or None):
        languages, how = [detected], "identified from the text"
    else:
        languages, how = list(brand.languages), "not identified; the brand's languages are tried"
    click.echo(f"query: {query}")
    click.echo(f"language: {', '.join(languages) or 'none'} ({how})")
    click.echo(describe(query, query.explain(text, author, languages)))


def describe(query: Query, explanation: Explanation) -> str:
    """The explanation in lines: the verdict, then each term with the word and rule that matched it."""
    verdict = f"MATCH ({', '.join(explanation.matched)})" if explanation.matches else "NO MATCH"
    lines = [verdict]
    for term in query.positive_terms():
        evidence = explanation.found.get(term)
        if evidence is None:
            lines.append(f"  {term}: not found")
            continue
        where = inflection.LANGUAGES[evidence.language].name if evidence.language else "every language"
        lines.append(f"  {term}: {evidence.word!r} — {evidence.rule} [{where}]")
    for evidence in explanation.other_languages:
        name = inflection.LANGUAGES[evidence.language].name
        lines.append(f"  {evidence.word!r} would be {evidence.term} in {name} ({evidence.rule}), "
                     "not in the post's language")
    for term in explanation.excluded:
        lines.append(f"  excluded by -{term}")
    if not explanation.matches and not explanation.excluded and explanation.found:
        lines.append("  the terms found do not satisfy the query (a term joined by AND is missing)")
    return "\n".join(lines)
