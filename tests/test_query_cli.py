"""``monitor query test``: the verdict, the word, the form and the rule."""

import json

from click.testing import CliRunner

from monitor.cli import cli


def _config(tmp_path):
    path = tmp_path / "monitor.yaml"
    path.write_text(json.dumps({"brands": [{"name": "Ryanair", "terms": ["ryanair"], "aliases": ["Райанэйр"],
                                            "exclusions": ["ryanairfan"], "languages": ["pl", "hu", "en", "ru"]}]}))
    return str(path)


def run(tmp_path, *args):
    result = CliRunner().invoke(cli, ["query", "test", "--config", _config(tmp_path), "--brand", "Ryanair", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_declined_name_is_explained(tmp_path):
    out = run(tmp_path, "--language", "pl", "Nigdy więcej nie lecę Ryanairem")
    assert "MATCH (ryanair)" in out
    assert "'ryanairem'" in out and "instrumental" in out and "[Polish]" in out
    assert "language: pl (given)" in out


def test_the_language_is_identified_when_not_given(tmp_path):
    out = run(tmp_path, "Ryanairrel repültem Budapestről, két órát késett a járat")
    assert "language: hu (identified from the text)" in out
    assert "MATCH (ryanair)" in out and "[Hungarian]" in out


def test_a_form_of_another_language_is_explained_as_such(tmp_path):
    out = run(tmp_path, "--language", "en", "Lecę Ryanairem")
    assert out.splitlines()[2] == "NO MATCH"
    assert "'ryanairem' would be ryanair in Polish" in out


def test_an_exclusion_is_named(tmp_path):
    out = run(tmp_path, "--language", "en", "I'm a ryanairfan, Ryanair rocks")
    assert "NO MATCH" in out and "excluded by -ryanairfan" in out


def test_an_alias_in_cyrillic_is_found(tmp_path):
    out = run(tmp_path, "--language", "ru", "Опять задержка у Райанэйра")
    assert "MATCH (райанэйр)" in out and "[Russian]" in out


def test_an_unknown_brand_is_a_config_error(tmp_path):
    result = CliRunner().invoke(cli, ["query", "test", "--config", _config(tmp_path), "--brand", "Nope", "text"])
    assert result.exit_code != 0
