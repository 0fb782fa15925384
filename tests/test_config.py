from datetime import timedelta
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import BrandConfig, load, parse, parse_duration
from monitor.errors import ConfigError
from monitor.query import Query

MINIMAL = """
brands:
  - name: Aurora Air
    terms: ["aurora air"]
"""


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert caught.value.exit_code == 2
    return caught.value.problems


def test_starter_config_is_valid():
    config = parse(resources.files("monitor").joinpath("starter.yaml").read_text())
    assert config.brands[0].name == "Aurora Air"
    assert [s.key for s in config.brands[0].sources] == ["news", "import"]
    assert config.detection.bucket == timedelta(minutes=15)


def test_defaults_fill_everything_but_brands():
    config = parse(MINIMAL)
    assert config.storage.backend == "sqlite"
    assert config.nlp.backend == "auto"
    assert config.alerts.cooldown == timedelta(hours=2)


def test_every_error_is_reported_with_its_path_and_line():
    problems = problems_of(
        """
detection:
  bucket: soon
brands:
  - name: Aurora Air
    sources:
      - type: rss
        every: 5m
      - type: carrier-pigeon
"""
    )
    where = {path.split(" ")[0]: (path, msg) for path, msg in problems}
    assert "detection.bucket" in where and "(line 3)" in where["detection.bucket"][0]
    assert "not a duration" in where["detection.bucket"][1]
    assert "brands[0].sources[0].url" in where
    assert "brands[0].sources[1].type" in where
    assert "unknown collector 'carrier-pigeon'" in where["brands[0].sources[1].type"][1]
    assert "rss" in where["brands[0].sources[1].type"][1]


def test_unknown_keys_and_missing_brands_are_errors():
    problems = problems_of("storage:\n  backnd: sqlite\n")
    paths = [p for p, _ in problems]
    assert any(p.startswith("storage.backnd") for p in paths)
    assert any(p.startswith("brands") for p in paths)


def test_secret_values_in_the_file_are_refused():
    problems = problems_of(MINIMAL + "slack:\n  token: xoxb-123\n")
    path, message = problems[0]
    assert path.startswith("slack.token")
    assert "environment" in message
    assert all("xoxb-123" not in m for _, m in problems)


def test_yaml_syntax_error_names_the_line():
    with pytest.raises(ConfigError, match="line 3"):
        parse("brands:\n  - name: a\n    terms: x: y\n")


def test_duplicate_source_names_are_rejected():
    problems = problems_of(
        MINIMAL + "    sources:\n      - {type: rss, url: 'http://a'}\n      - {type: rss, url: 'http://b'}\n"
    )
    assert "share the name 'rss'" in problems[0][1]


def test_relative_paths_resolve_beside_the_file(tmp_path):
    path = tmp_path / "conf" / "monitor.yaml"
    path.parent.mkdir()
    path.write_text(MINIMAL + "    sources:\n      - {type: file, path: feed.jsonl}\n")
    config = load(path)
    assert config.storage.path == path.parent / "monitor.db"
    assert config.brands[0].sources[0].options["path"] == str(path.parent / "feed.jsonl")


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load(tmp_path / "nope.yaml")


def test_brand_fields_compile_to_a_query():
    brand = BrandConfig(name="Aurora Air", terms=["aurora air", "aurora"], hashtags=["auroraair"],
                        handles=["@AuroraAir"], exclusions=["borealis", "northern lights"])
    query = Query.parse(brand.query_text())
    assert query.match("aurora air lost my bag")
    assert query.match("#auroraair")
    assert not query.match("aurora borealis tonight")
    assert not query.match("aurora and the northern lights")


def test_brand_without_terms_searches_its_name():
    assert Query.parse(BrandConfig(name="Aurora Air").query_text()).match("flying Aurora Air")


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(["s", "m", "h", "d", "w"]))
def test_durations_parse_in_every_unit(amount, unit):
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_duration(f"{amount}{unit}") == timedelta(seconds=amount * seconds)


@pytest.mark.parametrize("bad", ["", "5", "5 minutes", "-5m", "m"])
def test_bad_durations_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_aliases_are_alternatives_to_the_terms_or_the_query():
    brand = BrandConfig(name="Ryanair", terms=["ryanair"], aliases=["Райанэйр", "ryan air"], exclusions=["fan"])
    assert brand.query_text() == 'ryanair OR Райанэйр OR "ryan air" -fan'
    explicit = BrandConfig(name="Ryanair", query="ryanair -fan", aliases=["Райанэйр"])
    assert explicit.query_text() == "(ryanair -fan) OR Райанэйр"
    assert Query.parse(explicit.query_text()).match("Жалоба на Райанэйра", languages=["ru"])


def test_a_query_that_does_not_parse_is_refused_at_load():
    with pytest.raises(ValueError, match="expected a term"):
        BrandConfig(name="Acme", query="(acme OR")


def test_workers_settings_have_defaults_and_a_lease_never_shorter_than_a_job_interval():
    base = "brands:\n  - name: Aurora Air\n    sources: [{type: rss, url: 'http://x/feed', every: 10m}]\n"
    config = parse(base)
    assert (config.workers.capacity, config.workers.poll, config.workers.lease) == (4, timedelta(seconds=5), None)
    assert config.lease == timedelta(minutes=10)  # the longest job interval
    assert parse(base + "workers: {lease: 15m, capacity: 2}\n").lease == timedelta(minutes=15)
    with pytest.raises(ConfigError) as refused:
        parse(base + "workers: {lease: 2m}\n")
    assert refused.value.exit_code == 2
    assert "workers.lease" in str(refused.value.problems) and "brands[0].sources[0].every" in str(refused.value.problems)
